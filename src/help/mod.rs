//! The help centre's articles: Markdown we write (`help/<lang>/<slug>.md`), compiled into the
//! binary, rendered to HTML per request. Nothing is read from disk at run time: a slug is only
//! ever compared with the list below.
//!
//! Articles quote the operator's settings through placeholders (`{cooldown}` becomes "72 hours"),
//! so what they say about waits and limits stays true when `config.rs` values change. The first
//! `# ` heading is the title; raw HTML in the Markdown is shown as text, never passed through.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd, TextMergeStream};

use crate::config::Settings;
use crate::i18n::{FluentValue, Lang};

/// One article, in every language Verity speaks.
pub struct Article {
    pub slug: &'static str,
    en: &'static str,
    es: &'static str,
}

impl Article {
    /// The article's Markdown in `lang`. Every article exists in both languages (the list
    /// below can't compile otherwise, and a test checks the folders hold nothing else).
    pub fn source(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.en,
            Lang::Es => self.es,
        }
    }
}

/// Each slug names `help/en/<slug>.md` and `help/es/<slug>.md`.
macro_rules! articles {
    ($($slug:literal),* $(,)?) => {
        &[$(Article {
            slug: $slug,
            en: include_str!(concat!("../../help/en/", $slug, ".md")),
            es: include_str!(concat!("../../help/es/", $slug, ".md")),
        }),*]
    };
}

/// Every article, in the order the help index lists them.
pub const ARTICLES: &[Article] = articles![
    "keep-your-phone-current",
    "change-your-phone-number",
    "lost-phone",
    "locked-out",
    "scams",
    "remember-this-browser",
    "identity-verification",
    "contact-support",
];

/// The article that shows support's phone number and hours.
pub const CONTACT_SUPPORT: &str = "contact-support";

/// Slugs are lower-case letters, digits and hyphens; anything else names no article.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The article with this slug, if there is one.
pub fn find(slug: &str) -> Option<&'static Article> {
    if !is_slug(slug) {
        return None;
    }
    ARTICLES.iter().find(|a| a.slug == slug)
}

/// An article ready for a page: its title (the first `# ` heading) and the rest as HTML.
#[derive(Debug)]
pub struct Rendered {
    pub title: String,
    pub html: String,
}

/// `article` in `lang`, its placeholders filled in from `settings`.
pub fn render_article(article: &Article, lang: Lang, settings: &Settings) -> Rendered {
    render(article.source(lang), &|name| {
        placeholder(settings, lang, name)
    })
}

/// Markdown to HTML. The first level-1 heading becomes the title and is left out of the HTML
/// (the page prints it). Raw HTML is shown as text; images are reduced to their text; a link
/// goes somewhere only if it is a local path, an anchor, https, `mailto:` or `tel:`.
/// `{name}` in text is replaced by `values(name)` when that knows the name.
pub fn render(markdown: &str, values: &dyn Fn(&str) -> Option<String>) -> Rendered {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_SMART_PUNCTUATION);
    let mut title: Option<String> = None;
    let mut in_title = false;
    let mut dropped_link = false;
    let mut events = Vec::new();
    for event in TextMergeStream::new(Parser::new_ext(markdown, options)) {
        match event {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H1,
                ..
            }) if title.is_none() => {
                in_title = true;
                title = Some(String::new());
            }
            Event::End(TagEnd::Heading(HeadingLevel::H1)) if in_title => in_title = false,
            Event::Text(text) | Event::Code(text) | Event::InlineHtml(text) if in_title => {
                if let Some(t) = title.as_mut() {
                    t.push_str(&fill(&text, values));
                }
            }
            _ if in_title => {}
            Event::Html(raw) | Event::InlineHtml(raw) => events.push(Event::Text(raw)),
            Event::Text(text) => events.push(Event::Text(fill(&text, values).into())),
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => {}
            Event::Start(Tag::Link { ref dest_url, .. }) if !safe_destination(dest_url) => {
                dropped_link = true;
            }
            Event::End(TagEnd::Link) if dropped_link => dropped_link = false,
            other => events.push(other),
        }
    }
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    Rendered {
        title: title.unwrap_or_default().trim().to_string(),
        html,
    }
}

fn safe_destination(url: &str) -> bool {
    (url.starts_with('/') && !url.starts_with("//"))
        || url.starts_with('#')
        || ["https://", "mailto:", "tel:"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
}

/// `text` with each `{name}` that `values` knows replaced; other braces stay as they are.
fn fill(text: &str, values: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after
            .find('}')
            .map(|close| &after[..close])
            .filter(|name| is_slug(name))
            .and_then(|name| values(name).map(|v| (name.len(), v)));
        match value {
            Some((len, v)) => {
                out.push_str(&v);
                rest = &after[len + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What an article's `{name}` stands for: the site's name, or a setting in words.
fn placeholder(settings: &Settings, lang: Lang, name: &str) -> Option<String> {
    let s = &settings.security;
    let count = |key: &str, n: u64| {
        lang.t_args(
            key,
            &[("count", FluentValue::from(n.min(i64::MAX as u64) as i64))],
        )
    };
    let hours = |h: u64| count("help-unit-hours", h);
    let days = |d: u64| count("help-unit-days", d);
    // The largest whole unit, so 900 seconds read "15 minutes" and 3600 "1 hour".
    let duration = |secs: u64| {
        if secs >= 86400 && secs.is_multiple_of(86400) {
            days(secs / 86400)
        } else if secs >= 3600 && secs.is_multiple_of(3600) {
            hours(secs / 3600)
        } else if secs >= 60 && secs.is_multiple_of(60) {
            count("help-unit-minutes", secs / 60)
        } else {
            count("help-unit-seconds", secs)
        }
    };
    let number = |n: u64| n.to_string();
    Some(match name {
        "site" => settings.site_name.clone(),
        "remember" => days(s.remember_browser_days),
        "cooldown" => hours(s.sim_swap_cooldown_hours),
        "step-up" => duration(s.step_up_window_secs),
        "reset-wait" => hours(s.account_reset_wait_secs.div_ceil(3600)),
        "reset-link" => duration(s.password_reset_ttl_secs),
        "ip-failures" => number(s.password_failures_per_ip.into()),
        "backoff-first" => duration(s.password_backoff_base_secs),
        "backoff-max" => duration(s.password_backoff_max_secs),
        "lock-failures" => number(s.password_failures_account_lock.into()),
        "account-lock" => duration(s.account_lock_secs),
        "hard-lock-failures" => number(s.password_failures_hard_limit.into()),
        "mfa-failures" => number(s.mfa_max_failures.into()),
        "mfa-lock" => duration(s.mfa_lock_secs),
        "code-life" => duration(s.otp_ttl_secs),
        "review" => days(s.phone_review_days),
        "max-phones" => number(s.max_phones_per_account.into()),
        "backup-codes" => number(s.backup_code_count as u64),
        "tickets-per-hour" => number(s.support_tickets_per_hour.into()),
        _ => return None,
    })
}

/// A `tel:` URI for a number as the operator wrote it ("1-800-555-0100"): digits and a leading
/// `+` only.
pub fn tel_uri(phone: &str) -> String {
    let mut out = String::from("tel:");
    for (i, c) in phone.trim().chars().enumerate() {
        if c.is_ascii_digit() || (c == '+' && i == 0) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use super::*;

    /// The pages' links into the help centre (`/help/<slug>`) name articles that exist.
    #[test]
    fn every_help_link_in_the_templates_names_an_article() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut links = 0;
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for part in text.split("href=\"/help/").skip(1) {
                let slug: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                    .collect();
                if slug.is_empty() {
                    continue; // a slug filled in by the template (the index)
                }
                links += 1;
                assert!(
                    ARTICLES.iter().any(|a| a.slug == slug),
                    "{} links /help/{slug}, which isn't an article",
                    entry.path().display()
                );
            }
        }
        assert!(
            links >= 4,
            "the lock, lost-phone and phone pages link their articles"
        );
    }

    fn slugs_on_disk(lang: Lang) -> BTreeSet<String> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("help")
            .join(lang.tag());
        std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .map(|name| match name.strip_suffix(".md") {
                Some(slug) => slug.to_string(),
                None => panic!("help/{}/{name} is not a .md article", lang.tag()),
            })
            .collect()
    }

    #[test]
    fn both_languages_have_the_same_articles_and_all_are_listed() {
        let listed: BTreeSet<String> = ARTICLES.iter().map(|a| a.slug.to_string()).collect();
        assert_eq!(listed.len(), ARTICLES.len(), "a slug is listed twice");
        for lang in Lang::ALL {
            assert_eq!(
                slugs_on_disk(lang),
                listed,
                "help/{}/ and the ARTICLES list differ",
                lang.tag()
            );
        }
        for slug in &listed {
            assert!(is_slug(slug), "{slug} isn't a valid slug");
        }
        assert!(find(CONTACT_SUPPORT).is_some());
    }

    #[test]
    fn every_article_has_a_title_and_every_placeholder_is_known() {
        let settings = Settings::default();
        for article in ARTICLES {
            for lang in Lang::ALL {
                let where_ = format!("help/{}/{}.md", lang.tag(), article.slug);
                assert!(
                    article.source(lang).starts_with("# "),
                    "{where_} must start with its `# ` title"
                );
                let r = render_article(article, lang, &settings);
                assert!(!r.title.is_empty(), "{where_} has no title");
                assert!(!r.html.contains("<h1"), "{where_} has a second title");
                assert!(
                    !r.html.contains('{') && !r.title.contains('{'),
                    "{where_} has an unknown placeholder:\n{}",
                    r.html
                );
                assert!(!r.html.contains("<img"), "{where_}");
                for word in ["help-unit", "TODO"] {
                    assert!(!r.html.contains(word), "{where_} contains {word}");
                }
            }
        }
    }

    #[test]
    fn raw_html_is_shown_as_text_not_passed_through() {
        let none = |_: &str| None;
        let r = render(
            "# Title <b>x</b>\n\n<script>alert(1)</script>\n\nA <img src=x onerror=alert(1)> and <a href=\"javascript:alert(1)\">link</a>.\n\n<div onclick=\"x()\">\nblock\n</div>\n",
            &none,
        );
        assert_eq!(r.title, "Title <b>x</b>");
        for raw in ["<script", "<img", "<a href", "<div", "<b>"] {
            assert!(!r.html.contains(raw), "{raw} passed through:\n{}", r.html);
        }
        assert!(
            r.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{}",
            r.html
        );
        assert!(
            r.html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{}",
            r.html
        );
    }

    #[test]
    fn links_go_only_to_safe_places_and_images_become_text() {
        let none = |_: &str| None;
        let r = render(
            "[a](/help/scams) [b](https://example.gov) [c](javascript:alert(1)) [d](//evil.example) [e](data:text/html,x) ![pic](/x.png)",
            &none,
        );
        assert!(
            r.html.contains(r#"<a href="/help/scams">a</a>"#),
            "{}",
            r.html
        );
        assert!(
            r.html.contains(r#"<a href="https://example.gov">b</a>"#),
            "{}",
            r.html
        );
        for bad in ["javascript:", "//evil", "data:", "<img"] {
            assert!(!r.html.contains(bad), "{bad}:\n{}", r.html);
        }
        for text in ["c", "d", "e", "pic"] {
            assert!(
                r.html.contains(&format!(" {text}")),
                "{text} lost:\n{}",
                r.html
            );
        }
    }

    #[test]
    fn placeholders_say_the_configured_numbers_in_words() {
        let mut settings = Settings {
            site_name: "Acme ID".into(),
            ..Settings::default()
        };
        settings.security.sim_swap_cooldown_hours = 1;
        settings.security.step_up_window_secs = 900;
        settings.security.account_lock_secs = 7200;
        let values = |name: &str| placeholder(&settings, Lang::En, name);
        assert_eq!(
            render(
                "# T\n\n{site}: {cooldown}, {step-up}, {account-lock}, {nope}, {}",
                &values
            )
            .html,
            "<p>Acme ID: 1 hour, 15 minutes, 2 hours, {nope}, {}</p>\n"
        );
        let values = |name: &str| placeholder(&settings, Lang::Es, name);
        assert_eq!(render("{remember}", &values).html, "<p>30 días</p>\n");
    }

    #[test]
    fn slugs_are_lower_case_words_only() {
        for bad in [
            "",
            "../etc/passwd",
            "..",
            "Scams",
            "scams.md",
            "a/b",
            "a b",
            "%2e%2e",
            "scams\0",
        ] {
            assert!(!is_slug(bad), "{bad:?}");
            assert!(find(bad).is_none(), "{bad:?}");
        }
        assert!(find("scams").is_some());
        assert!(find("no-such-article").is_none());
    }

    #[test]
    fn phone_links_keep_digits_only() {
        assert_eq!(tel_uri("1-800-555-0100"), "tel:18005550100");
        assert_eq!(tel_uri(" +1 (800) 555.0100 ext"), "tel:+18005550100");
    }
}
