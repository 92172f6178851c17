//! The real notification senders against hand-written listeners on 127.0.0.1: an SMTP relay
//! that records the conversation, and a Twilio-style HTTP gateway that records each POST.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use verity::clock::Clock;
use verity::config::{EmailBackend, NotifySettings, Settings, SmsBackend, SmtpTls};
use verity::notify::{
    build_notifier, recent_outbox, Channel, GatewaySender, Message, Notifier, SmtpSender,
};

// The integration tests' harness, for its database (SQLite, or PostgreSQL when
// VERITY_TEST_DATABASE_URL is set), so the outbox routing runs on both backends.
#[path = "it/harness.rs"]
mod harness;
use harness::TestDb;

const SID: &str = "AC0123456789abcdef";
const TOKEN: &str = "s3cret-gateway-token";
const FROM_NUMBER: &str = "+15005550006";

// ---------------------------------------------------------------- a tiny SMTP relay

#[derive(Debug, Default)]
struct SmtpSession {
    /// Every command line the client sent, in order (without CRLF).
    commands: Vec<String>,
    /// The message as sent after DATA, up to (not including) the final ".".
    data: String,
}

impl SmtpSession {
    fn command(&self, prefix: &str) -> Option<&str> {
        self.commands
            .iter()
            .find(|c| c.to_ascii_uppercase().starts_with(prefix))
            .map(String::as_str)
    }
}

/// Serves one SMTP conversation; answers 550 to RCPT when `refuse_rcpt`.
async fn smtp_server(refuse_rcpt: bool) -> (u16, tokio::task::JoinHandle<SmtpSession>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = tokio::spawn(async move {
        let mut session = SmtpSession::default();
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 fake.test ESMTP\r\n").await.unwrap();
        while let Ok(Some(line)) = lines.next_line().await {
            session.commands.push(line.clone());
            let verb = line
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" => b"250-fake.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n",
                "HELO" | "MAIL" | "RSET" | "NOOP" => b"250 OK\r\n",
                "AUTH" => b"235 2.7.0 Authentication successful\r\n",
                "RCPT" if refuse_rcpt => {
                    // Like Postfix, quote the refused address back.
                    let address = line.split_once(':').map(|(_, a)| a).unwrap_or_default();
                    let reply = format!("550 5.1.1 {address}: Recipient address rejected\r\n");
                    write.write_all(reply.as_bytes()).await.unwrap();
                    continue;
                }
                "RCPT" => b"250 OK\r\n",
                "DATA" => {
                    write
                        .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        .await
                        .unwrap();
                    while let Ok(Some(data_line)) = lines.next_line().await {
                        if data_line == "." {
                            break;
                        }
                        session.data.push_str(&data_line);
                        session.data.push_str("\r\n");
                    }
                    b"250 2.0.0 Queued\r\n"
                }
                "QUIT" => {
                    write.write_all(b"221 Bye\r\n").await.unwrap();
                    break;
                }
                _ => b"502 Command not implemented\r\n",
            };
            write.write_all(reply).await.unwrap();
        }
        session
    });
    (port, handle)
}

fn smtp_settings(port: u16) -> NotifySettings {
    NotifySettings {
        email: EmailBackend::Smtp,
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: port,
        smtp_tls: SmtpTls::None,
        smtp_timeout_secs: 5,
        email_from: "Verity <no-reply@verity.test>".into(),
        ..NotifySettings::default()
    }
}

fn email(to: &str) -> Message {
    Message {
        channel: Channel::Email,
        to: to.into(),
        subject: "Confirm your email".into(),
        body: "Open this link to confirm: https://id.example/confirm?t=abc\nThanks.".into(),
        lang: verity::i18n::Lang::En,
    }
}

/// Headers of the captured message, by lower-cased name (no folded headers in these tests).
fn mail_headers(data: &str) -> HashMap<String, String> {
    let head = data.split("\r\n\r\n").next().unwrap_or_default();
    head.split("\r\n")
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect()
}

fn mail_body(data: &str) -> &str {
    data.split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default()
}

#[tokio::test]
async fn smtp_sends_a_plain_text_mail_from_the_configured_address() {
    let (port, server) = smtp_server(false).await;
    let mut settings = smtp_settings(port);
    settings.smtp_username = Some("relay-user".into());
    settings.smtp_password = Some("relay-pass".into());
    settings.validate().unwrap();
    let sender = SmtpSender::new(&settings, "id.example.gov").unwrap();
    assert_eq!(sender.name(), "smtp");

    sender.send(email("alice@example.com")).await.unwrap();
    let session = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap();

    assert_eq!(session.command("EHLO"), Some("EHLO id.example.gov"));
    let auth = session.command("AUTH").expect("AUTH sent");
    let expected = base64::engine::general_purpose::STANDARD.encode("\0relay-user\0relay-pass");
    assert_eq!(auth, format!("AUTH PLAIN {expected}"));
    assert!(session
        .command("MAIL FROM")
        .unwrap()
        .starts_with("MAIL FROM:<no-reply@verity.test>"));
    assert_eq!(
        session.command("RCPT TO"),
        Some("RCPT TO:<alice@example.com>")
    );

    let headers = mail_headers(&session.data);
    assert_eq!(headers["from"], "Verity <no-reply@verity.test>");
    assert_eq!(headers["to"], "alice@example.com");
    assert_eq!(headers["subject"], "Confirm your email");
    assert!(headers["content-type"].starts_with("text/plain"));
    assert!(headers["message-id"].ends_with("@verity.test>"));
    assert_eq!(
        mail_body(&session.data),
        "Open this link to confirm: https://id.example/confirm?t=abc\r\nThanks.\r\n"
    );
}

#[tokio::test]
async fn smtp_refusal_is_an_error() {
    let (port, server) = smtp_server(true).await;
    let sender = SmtpSender::new(&smtp_settings(port), "localhost").unwrap();
    let err = sender
        .send(email("nobody@example.com"))
        .await
        .expect_err("a 550 on RCPT must fail the send");
    let text = format!("{err:#}");
    assert!(text.contains("550"), "{text}");
    assert!(!text.contains("nobody@example.com"), "{text}");
    assert!(
        text.contains("<[recipient]>: Recipient address rejected"),
        "{text}"
    );
    let session = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap();
    assert!(session.command("DATA").is_none(), "{:?}", session.commands);
}

#[tokio::test]
async fn smtp_starttls_is_required_when_configured() {
    // The fake relay offers no STARTTLS: nothing may be sent in the clear, credentials least.
    let (port, server) = smtp_server(false).await;
    let mut settings = smtp_settings(port);
    settings.smtp_tls = SmtpTls::Starttls;
    settings.smtp_username = Some("relay-user".into());
    settings.smtp_password = Some("relay-pass".into());
    let sender = SmtpSender::new(&settings, "localhost").unwrap();
    let err = sender
        .send(email("alice@example.com"))
        .await
        .expect_err("no STARTTLS offered: nothing is sent");
    let text = format!("{err:#}");
    assert!(
        text.starts_with(&format!("SMTP relay 127.0.0.1:{port} refused or failed:")),
        "{text}"
    );
    assert!(text.to_lowercase().contains("tls"), "{text}");
    let session = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap();
    assert!(session.command("AUTH").is_none(), "{:?}", session.commands);
    assert!(session.command("MAIL").is_none(), "{:?}", session.commands);
    // Implicit TLS builds its (aws-lc-rs) TLS configuration too.
    settings.smtp_tls = SmtpTls::Tls;
    SmtpSender::new(&settings, "localhost").unwrap();
}

#[tokio::test]
async fn smtp_unreachable_relay_is_an_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let sender = SmtpSender::new(&smtp_settings(port), "localhost").unwrap();
    let err = sender.send(email("alice@example.com")).await.unwrap_err();
    assert!(format!("{err:#}").contains(&format!("127.0.0.1:{port}")));
}

#[tokio::test]
async fn smtp_sender_rejects_bad_addresses_and_other_channels() {
    let sender = SmtpSender::new(&smtp_settings(25), "localhost").unwrap();
    // No connection is made for these: the port doesn't matter.
    let err = sender.send(email("not an address")).await.unwrap_err();
    assert!(
        format!("{err:#}").starts_with("the recipient is not a valid email address"),
        "{err:#}"
    );
    let mut sms = email("alice@example.com");
    sms.channel = Channel::Sms;
    let err = sender.send(sms).await.unwrap_err();
    assert_eq!(format!("{err:#}"), "the SMTP sender sends email, not sms");
}

// ---------------------------------------------------------------- a tiny HTTP gateway

#[derive(Debug)]
struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

impl Request {
    fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }
}

enum Answer {
    Status(u16, &'static str),
    Never,
}

/// Answers every request with `answer`, sending what it received on the channel.
async fn http_server(answer: Answer) -> (String, mpsc::UnboundedReceiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (tx, answer) = (tx.clone(), answer.clone());
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut reader = BufReader::new(read);
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                    return;
                }
                let mut parts = request_line.split_whitespace();
                let method = parts.next().unwrap_or_default().to_string();
                let path = parts.next().unwrap_or_default().to_string();
                let mut headers = HashMap::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                    }
                }
                let length: usize = headers
                    .get("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                reader.read_exact(&mut body).await.unwrap();
                let _ = tx.send(Request {
                    method,
                    path,
                    headers,
                    body: String::from_utf8(body).unwrap(),
                });
                match &*answer {
                    Answer::Status(status, body) => {
                        let response = format!(
                            "HTTP/1.1 {status} Whatever\r\nContent-Type: application/json\r\n\
                             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = write.write_all(response.as_bytes()).await;
                    }
                    Answer::Never => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    (base, rx)
}

fn gateway_settings(base: &str) -> NotifySettings {
    NotifySettings {
        sms: SmsBackend::Gateway,
        gateway_base_url: format!("{base}/"),
        gateway_account_sid: Some(SID.into()),
        gateway_auth_token: Some(TOKEN.into()),
        gateway_from_number: Some(FROM_NUMBER.into()),
        gateway_timeout_secs: 5,
        ..NotifySettings::default()
    }
}

fn phone(channel: Channel, body: &str) -> Message {
    Message {
        channel,
        to: "+15551234567".into(),
        subject: String::new(),
        body: body.into(),
        lang: verity::i18n::Lang::En,
    }
}

fn assert_basic_auth(request: &Request) {
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"));
    assert_eq!(
        request.headers["authorization"],
        format!("Basic {expected}")
    );
    assert_eq!(
        request.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
}

#[tokio::test]
async fn gateway_sends_an_sms_as_a_form_post() {
    let (base, mut requests) = http_server(Answer::Status(201, r#"{"sid":"SM1"}"#)).await;
    let settings = gateway_settings(&base);
    settings.validate().unwrap();
    let sender = GatewaySender::new(&settings).unwrap();
    sender
        .send(phone(
            Channel::Sms,
            "Your Verity code is 123456 & it expires in 10 minutes.",
        ))
        .await
        .unwrap();

    let request = requests.recv().await.unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        format!("/2010-04-01/Accounts/{SID}/Messages.json")
    );
    assert_basic_auth(&request);
    let form = request.form();
    assert_eq!(form.len(), 3, "{form:?}");
    assert_eq!(form["To"], "+15551234567");
    assert_eq!(form["From"], FROM_NUMBER);
    assert_eq!(
        form["Body"],
        "Your Verity code is 123456 & it expires in 10 minutes."
    );
}

#[tokio::test]
async fn gateway_places_a_voice_call_that_says_the_text() {
    let (base, mut requests) = http_server(Answer::Status(201, r#"{"sid":"CA1"}"#)).await;
    let sender = GatewaySender::new(&gateway_settings(&base)).unwrap();
    sender
        .send(phone(
            Channel::Voice,
            "Your <Verity> code is 1, 2, 3, 4, 5, 6. Again: 1, 2, 3, 4, 5, 6.",
        ))
        .await
        .unwrap();

    let request = requests.recv().await.unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        format!("/2010-04-01/Accounts/{SID}/Calls.json")
    );
    assert_basic_auth(&request);
    let form = request.form();
    assert_eq!(form.len(), 3, "{form:?}");
    assert_eq!(form["To"], "+15551234567");
    assert_eq!(form["From"], FROM_NUMBER);
    assert_eq!(
        form["Twiml"],
        "<Response><Say language=\"en-US\">Your &lt;Verity&gt; code is 1, 2, 3, 4, 5, 6. \
         Again: 1, 2, 3, 4, 5, 6.</Say></Response>"
    );
}

#[tokio::test]
async fn a_spanish_voice_call_is_read_by_a_spanish_voice() {
    let (base, mut requests) = http_server(Answer::Status(201, r#"{"sid":"CA1"}"#)).await;
    let sender = GatewaySender::new(&gateway_settings(&base)).unwrap();
    let mut message = phone(Channel::Voice, "Su código es 1, 2, 3.");
    message.lang = verity::i18n::Lang::Es;
    sender.send(message).await.unwrap();
    let form = requests.recv().await.unwrap().form();
    assert_eq!(
        form["Twiml"],
        "<Response><Say language=\"es-MX\">Su código es 1, 2, 3.</Say></Response>"
    );
}

#[tokio::test]
async fn gateway_error_status_is_an_error_without_secrets() {
    let body =
        r#"{"code": 20003, "message": "Authenticate failed for +15551234567", "status": 500}"#;
    let (base, mut requests) = http_server(Answer::Status(500, body)).await;
    let sender = GatewaySender::new(&gateway_settings(&base)).unwrap();
    let err = sender
        .send(phone(Channel::Sms, "Your code is 123456"))
        .await
        .expect_err("a 500 must fail the send");
    let text = format!("{err:#} {err:?}");
    assert!(text.contains("500"), "{text}");
    assert!(text.contains("20003"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
    assert!(!text.contains("+15551234567"), "{text}");
    assert!(!text.contains("123456"), "{text}");
    assert!(requests.recv().await.is_some());
}

#[tokio::test]
async fn gateway_that_never_answers_times_out() {
    let (base, _requests) = http_server(Answer::Never).await;
    let mut settings = gateway_settings(&base);
    settings.gateway_timeout_secs = 1;
    let sender = GatewaySender::new(&settings).unwrap();
    let started = std::time::Instant::now();
    let err = sender
        .send(phone(Channel::Voice, "1, 2, 3"))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    let text = format!("{err:#}");
    assert!(text.contains("did not answer within 1 s"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
}

#[tokio::test]
async fn gateway_unreachable_is_an_error_and_email_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let sender = GatewaySender::new(&gateway_settings(&base)).unwrap();
    let err = sender.send(phone(Channel::Sms, "hello")).await.unwrap_err();
    let text = format!("{err:#}");
    assert!(text.starts_with("SMS gateway request failed"), "{text}");
    assert!(!text.contains(TOKEN));
    let err = sender.send(email("alice@example.com")).await.unwrap_err();
    assert_eq!(format!("{err:#}"), "the SMS gateway does not send email");
}

// ---------------------------------------------------------------- routing and settings
// (the outbox is a database table: these run on PostgreSQL too when VERITY_TEST_DATABASE_URL
// is set)

#[tokio::test]
async fn default_settings_send_everything_to_the_outbox() {
    let test_db = TestDb::fresh().await;
    let db = test_db.db.clone();
    let notifier = build_notifier(&Settings::default(), db.clone(), Clock::default()).unwrap();
    assert_eq!(notifier.name(), "dev outbox");
    notifier.send(email("alice@example.com")).await.unwrap();
    notifier
        .send(phone(Channel::Voice, "1, 2, 3"))
        .await
        .unwrap();
    let rows = recent_outbox(&db, 10).await.unwrap();
    let mut channels: Vec<&str> = rows.iter().map(|r| r.channel.as_str()).collect();
    channels.sort();
    assert_eq!(channels, ["email", "voice"]);
}

#[tokio::test]
async fn routing_sends_email_by_smtp_and_sms_by_the_gateway() {
    let test_db = TestDb::fresh().await;
    let db = test_db.db.clone();
    let (smtp_port, smtp) = smtp_server(false).await;
    let (base, mut requests) = http_server(Answer::Status(201, "{}")).await;
    let gateway = gateway_settings(&base);
    let settings = Settings {
        issuer: "https://id.example.gov".into(),
        notify: NotifySettings {
            sms: SmsBackend::Gateway,
            gateway_base_url: gateway.gateway_base_url,
            gateway_account_sid: gateway.gateway_account_sid,
            gateway_auth_token: gateway.gateway_auth_token,
            gateway_from_number: gateway.gateway_from_number,
            ..smtp_settings(smtp_port)
        },
        ..Settings::default()
    };
    settings.validate().unwrap();
    let notifier = build_notifier(&settings, db.clone(), Clock::default()).unwrap();
    assert_eq!(notifier.name(), "smtp + gateway");

    notifier.send(email("bob@example.com")).await.unwrap();
    let session = tokio::time::timeout(Duration::from_secs(5), smtp)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.command("EHLO"), Some("EHLO id.example.gov"));
    assert_eq!(mail_headers(&session.data)["to"], "bob@example.com");

    notifier
        .send(phone(Channel::Sms, "Your code is 654321"))
        .await
        .unwrap();
    let request = requests.recv().await.unwrap();
    assert!(request.path.ends_with("/Messages.json"));
    assert_eq!(request.form()["Body"], "Your code is 654321");

    // Only the outbox backends write to the outbox.
    assert!(recent_outbox(&db, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn routing_keeps_sms_in_the_outbox_and_reports_smtp_failures() {
    let test_db = TestDb::fresh().await;
    let db = test_db.db.clone();
    let (smtp_port, _smtp) = smtp_server(true).await;
    let settings = Settings {
        notify: smtp_settings(smtp_port),
        ..Settings::default()
    };
    let notifier = build_notifier(&settings, db.clone(), Clock::default()).unwrap();
    assert_eq!(notifier.name(), "smtp + dev outbox");
    notifier
        .send(phone(Channel::Sms, "Your code is 111222"))
        .await
        .unwrap();
    let err = notifier.send(email("carol@example.com")).await.unwrap_err();
    assert!(format!("{err:#}").contains("550"));
    let rows = recent_outbox(&db, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].channel, "sms");
    assert_eq!(rows[0].body, "Your code is 111222");
}

fn load(vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
    Settings::load_from(
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
            .into_iter(),
    )
}

#[test]
fn notify_settings_load_from_env_with_defaults() {
    let s = load(&[
        ("VERITY_NOTIFY__EMAIL", "smtp"),
        ("VERITY_NOTIFY__SMTP_HOST", "smtp.example.gov"),
        ("VERITY_NOTIFY__SMTP_USERNAME", "verity"),
        ("VERITY_NOTIFY__SMTP_PASSWORD", "hunter2-smtp"),
        ("VERITY_NOTIFY__SMS", "gateway"),
        ("VERITY_NOTIFY__GATEWAY_ACCOUNT_SID", SID),
        ("VERITY_NOTIFY__GATEWAY_AUTH_TOKEN", TOKEN),
        ("VERITY_NOTIFY__GATEWAY_FROM_NUMBER", FROM_NUMBER),
    ])
    .unwrap();
    let n = &s.notify;
    assert_eq!(n.email, EmailBackend::Smtp);
    assert_eq!(n.sms, SmsBackend::Gateway);
    assert_eq!(n.smtp_port, 587);
    assert_eq!(n.smtp_tls, SmtpTls::Starttls);
    assert_eq!(n.email_from, "Verity <no-reply@localhost>");
    assert_eq!(n.gateway_base_url, "https://api.twilio.com");
    assert_eq!(n.gateway_timeout_secs, 10);
    // `+15005550006` in an env variable reads as a TOML number; the `+` comes back.
    assert_eq!(n.gateway_from_number.as_deref(), Some(FROM_NUMBER));
    let debug = format!("{s:?}");
    assert!(!debug.contains("hunter2-smtp"), "{debug}");
    assert!(!debug.contains(TOKEN), "{debug}");

    let defaults = load(&[]).unwrap().notify;
    assert_eq!(defaults.email, EmailBackend::Outbox);
    assert_eq!(defaults.sms, SmsBackend::Outbox);
}

#[test]
fn notify_settings_are_validated() {
    let err = |vars: &[(&str, &str)]| format!("{:#}", load(vars).unwrap_err());
    assert!(err(&[("VERITY_NOTIFY__EMAIL", "smtp")]).contains("smtp_host"));
    assert!(err(&[
        ("VERITY_NOTIFY__EMAIL", "smtp"),
        ("VERITY_NOTIFY__SMTP_HOST", "smtp.example.gov"),
        ("VERITY_NOTIFY__SMTP_TLS", "none"),
    ])
    .contains("localhost"));
    assert!(err(&[
        ("VERITY_NOTIFY__EMAIL", "smtp"),
        ("VERITY_NOTIFY__SMTP_HOST", "smtp.example.gov"),
        ("VERITY_NOTIFY__SMTP_USERNAME", "verity"),
    ])
    .contains("smtp_password"));
    assert!(err(&[
        ("VERITY_NOTIFY__EMAIL", "smtp"),
        ("VERITY_NOTIFY__SMTP_HOST", "smtp.example.gov"),
        ("VERITY_NOTIFY__EMAIL_FROM", "not a mailbox"),
    ])
    .contains("email_from"));
    assert!(err(&[("VERITY_NOTIFY__EMAIL", "carrier-pigeon")]).contains("unknown variant"));
    assert!(err(&[("VERITY_NOTIFY__SMS", "gateway")]).contains("gateway_account_sid"));
    assert!(err(&[
        ("VERITY_NOTIFY__SMS", "gateway"),
        (
            "VERITY_NOTIFY__GATEWAY_BASE_URL",
            "http://gateway.example.com"
        ),
        ("VERITY_NOTIFY__GATEWAY_ACCOUNT_SID", SID),
        ("VERITY_NOTIFY__GATEWAY_AUTH_TOKEN", TOKEN),
        ("VERITY_NOTIFY__GATEWAY_FROM_NUMBER", FROM_NUMBER),
    ])
    .contains("https"));
    assert!(err(&[
        ("VERITY_NOTIFY__SMS", "gateway"),
        ("VERITY_NOTIFY__GATEWAY_ACCOUNT_SID", "AC1/../x"),
        ("VERITY_NOTIFY__GATEWAY_AUTH_TOKEN", TOKEN),
        ("VERITY_NOTIFY__GATEWAY_FROM_NUMBER", FROM_NUMBER),
    ])
    .contains("letters and digits"));
    assert!(err(&[
        ("VERITY_NOTIFY__SMS", "gateway"),
        ("VERITY_NOTIFY__GATEWAY_ACCOUNT_SID", SID),
        ("VERITY_NOTIFY__GATEWAY_FROM_NUMBER", FROM_NUMBER),
    ])
    .contains("gateway_auth_token"));
    assert!(err(&[("VERITY_NOTIFY__SMTP_PORTT", "25")]).contains("unknown field"));
    // A local relay without TLS, and an http gateway on localhost, are fine.
    load(&[
        ("VERITY_NOTIFY__EMAIL", "smtp"),
        ("VERITY_NOTIFY__SMTP_HOST", "localhost"),
        ("VERITY_NOTIFY__SMTP_TLS", "none"),
        ("VERITY_NOTIFY__SMS", "gateway"),
        ("VERITY_NOTIFY__GATEWAY_BASE_URL", "http://127.0.0.1:9999"),
        ("VERITY_NOTIFY__GATEWAY_ACCOUNT_SID", SID),
        ("VERITY_NOTIFY__GATEWAY_AUTH_TOKEN", TOKEN),
        ("VERITY_NOTIFY__GATEWAY_FROM_NUMBER", FROM_NUMBER),
    ])
    .unwrap();
}
