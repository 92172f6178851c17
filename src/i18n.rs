//! Languages and the words people read. Every user-facing sentence lives in
//! `locales/<lang>/*.ftl` (Fluent), compiled into the binary; pages, flows and notices look
//! messages up here by key. `Lang` is chosen per request (see `web::browser`) and stored on the
//! account, so notices sent later use the person's language.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use fluent_templates::{static_loader, LanguageIdentifier};

pub use fluent_bundle::FluentValue;

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Unicode isolation marks around every placeable would land in HTML attributes,
        // e-mail subjects and SMS bodies; our languages are both left-to-right.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The languages Verity speaks. English is the fallback.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Es,
}

static IDENTIFIERS: LazyLock<[LanguageIdentifier; 2]> = LazyLock::new(|| {
    [
        fluent_templates::langid!("en"),
        fluent_templates::langid!("es"),
    ]
});

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// The BCP 47 tag used in `lang=""`, cookies and the database.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    fn identifier(self) -> &'static LanguageIdentifier {
        match self {
            Lang::En => &IDENTIFIERS[0],
            Lang::Es => &IDENTIFIERS[1],
        }
    }

    /// A language tag such as `es`, `es-MX` or `EN-us`: its primary subtag decides.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Lang::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(primary))
    }

    /// OIDC `ui_locales`: space-separated tags in order of preference; the first we speak.
    pub fn from_ui_locales(ui_locales: &str) -> Option<Lang> {
        ui_locales.split_whitespace().find_map(Lang::parse)
    }

    /// An `Accept-Language` header: the supported language with the highest weight (ties go
    /// to the earlier entry); `q=0` means "not this one".
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(Lang, f32)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::parse) else {
                continue;
            };
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
                .unwrap_or(1.0);
            if weight > 0.0 && best.is_none_or(|(_, w)| weight > w) {
                best = Some((lang, weight));
            }
        }
        best.map(|(lang, _)| lang)
    }

    /// The message `key` in this language.
    pub fn t(self, key: &str) -> String {
        lookup(self, key, None)
    }

    /// The message `key` with its `{ $name }` placeables filled in.
    pub fn t_args(self, key: &str, args: &[(&'static str, FluentValue<'_>)]) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue<'_>> = args
            .iter()
            .map(|(name, value)| (Cow::Borrowed(*name), value.clone()))
            .collect();
        lookup(self, key, Some(&map))
    }
}

/// A message to be written later, once the language is known (an error page is rendered by
/// middleware, after the handler).
#[derive(Clone, Debug)]
pub struct Message {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Message {
    pub fn new(key: &'static str) -> Message {
        Message {
            key,
            args: Vec::new(),
        }
    }

    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Message {
        self.args.push((name, value.to_string()));
        self
    }

    pub fn in_lang(&self, lang: Lang) -> String {
        let args: Vec<(&'static str, FluentValue<'_>)> = self
            .args
            .iter()
            .map(|(name, value)| {
                // Numbers stay numbers, so plural rules apply to them.
                let v = match value.parse::<i64>() {
                    Ok(n) => FluentValue::from(n),
                    Err(_) => FluentValue::from(value.as_str()),
                };
                (*name, v)
            })
            .collect();
        lang.t_args(self.key, &args)
    }
}

fn lookup(
    lang: Lang,
    key: &str,
    args: Option<&HashMap<Cow<'static, str>, FluentValue<'_>>>,
) -> String {
    match LOCALES.lookup_single_language(lang.identifier(), key, args) {
        Ok(text) => text,
        Err(e) => {
            // The locale tests make this unreachable for keys in the code; if it happens,
            // English beats a blank, and the key beats nothing.
            tracing::error!(lang = lang.tag(), key, error = %e, "message lookup failed");
            if lang != Lang::En {
                if let Ok(text) = LOCALES.lookup_single_language(Lang::En.identifier(), key, args) {
                    return text;
                }
            }
            key.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_headers_pick_the_language() {
        assert_eq!(Lang::parse("es-MX"), Some(Lang::Es));
        assert_eq!(Lang::parse("EN_us"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::from_ui_locales("fr-CA es en"), Some(Lang::Es));
        assert_eq!(Lang::from_ui_locales("fr de"), None);
        assert_eq!(
            Lang::from_accept_language("fr;q=1, es;q=0.8, en;q=0.5"),
            Some(Lang::Es)
        );
        assert_eq!(
            Lang::from_accept_language("en-US,en;q=0.9,es;q=0.95"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("es;q=0, en;q=0.1"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language("es;q=bogus"), None);
        assert_eq!(Lang::from_accept_language(""), None);
    }

    #[test]
    fn messages_are_looked_up_in_the_language_asked_for() {
        assert_eq!(Lang::En.t("language-name"), "English");
        assert_eq!(Lang::Es.t("language-name"), "Español");
        assert_eq!(Lang::Es.t("no-such-key-anywhere"), "no-such-key-anywhere");
    }
}

/// The checks that keep both languages complete and every sentence in the locale files.
#[cfg(test)]
mod locale_files {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    use regex::Regex;

    use super::Lang;

    /// Templates whose words have not moved into the locale files yet. Empty when issue 12's
    /// conversion is complete; a template listed here is checked for nothing.
    const NOT_YET_TRANSLATED: &[&str] = &[];

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn files_under(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files_under(&path, exts, out);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.contains(&e))
            {
                out.push(path);
            }
        }
        out.sort();
    }

    /// Every message (and attribute, as `id.attr`) in one language, with the variables its
    /// text uses. Also fails on a file Fluent can't parse.
    fn messages(lang: Lang) -> BTreeMap<String, (String, BTreeSet<String>)> {
        let message_start = Regex::new(r"^([A-Za-z][A-Za-z0-9_-]*)\s*=").unwrap();
        let attribute_start = Regex::new(r"^\s+\.([A-Za-z][A-Za-z0-9_-]*)\s*=").unwrap();
        let variable = Regex::new(r"\{\s*\$([A-Za-z][A-Za-z0-9_-]*)").unwrap();
        let mut files = Vec::new();
        files_under(
            &root().join("locales").join(lang.tag()),
            &["ftl"],
            &mut files,
        );
        assert!(!files.is_empty(), "no locale files for {}", lang.tag());
        let mut out: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            if let Err((_, errors)) = fluent_bundle::FluentResource::try_new(text.clone()) {
                panic!("{} doesn't parse: {errors:?}", file.display());
            }
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            let mut current: Option<String> = None;
            for line in text.lines() {
                if let Some(c) = message_start.captures(line) {
                    let id = c[1].to_string();
                    // Terms (-name) are shared pieces, not messages the code asks for.
                    assert!(
                        out.insert(id.clone(), (name.clone(), BTreeSet::new()))
                            .is_none(),
                        "{id} is defined twice in {}",
                        lang.tag()
                    );
                    current = Some(id);
                } else if let (Some(c), Some(parent)) = (attribute_start.captures(line), &current) {
                    let id = format!("{}.{}", parent.split('.').next().unwrap(), &c[1]);
                    out.insert(id.clone(), (name.clone(), BTreeSet::new()));
                    current = Some(id);
                } else if line.starts_with('#') || line.starts_with('-') {
                    current = None;
                    continue;
                } else if !line.starts_with(' ') && !line.trim().is_empty() {
                    current = None;
                }
                if let Some(id) = &current {
                    let vars = &mut out.get_mut(id).unwrap().1;
                    vars.extend(variable.captures_iter(line).map(|c| c[1].to_string()));
                }
            }
        }
        out
    }

    #[test]
    fn every_message_exists_in_both_languages_in_the_same_file_with_the_same_variables() {
        let en = messages(Lang::En);
        let es = messages(Lang::Es);
        let mut problems = Vec::new();
        for (id, (file, vars)) in &en {
            match es.get(id) {
                None => problems.push(format!("{id} ({file}) is missing in es")),
                Some((es_file, _)) if es_file != file => {
                    problems.push(format!("{id} is in en/{file} but es/{es_file}"))
                }
                Some((_, es_vars)) if es_vars != vars => {
                    problems.push(format!("{id} uses {vars:?} in en but {es_vars:?} in es"))
                }
                Some(_) => {}
            }
        }
        for (id, (file, _)) in &es {
            if !en.contains_key(id) {
                problems.push(format!("{id} ({file}) is missing in en"));
            }
        }
        assert!(
            problems.is_empty(),
            "locale files differ:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn every_key_the_code_and_templates_ask_for_exists() {
        let en = messages(Lang::En);
        let asked = Regex::new(
            r#"(?:\bt|\bt1|\btn|\bt_args|\blayout_for|\brefused|Message::new)\(\s*"([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)?)""#,
        )
        .unwrap();
        let mut files = Vec::new();
        files_under(&root().join("templates"), &["html", "txt"], &mut files);
        files_under(&root().join("src"), &["rs"], &mut files);
        let mut missing = BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for c in asked.captures_iter(&text) {
                let key = &c[1];
                if !en.contains_key(key) && key != "no-such-key-anywhere" {
                    missing.insert(format!("{key} (asked for in {})", file.display()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keys with no message:\n{}",
            missing.into_iter().collect::<Vec<_>>().join("\n")
        );
    }

    /// The words left in a template once its template syntax, tags and entities are gone, and
    /// the user-facing attributes (alt, title, placeholder, aria-label) that hold words.
    fn literal_text(template: &str) -> Vec<String> {
        let syntax = Regex::new(r"(?s)\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}").unwrap();
        let hidden = Regex::new(r"(?is)<(script|style)\b.*?</(script|style)>").unwrap();
        let entity = Regex::new(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);").unwrap();
        let tag = Regex::new(r"(?s)<[^>]*>").unwrap();
        let attribute = Regex::new(
            r#"(?i)\b(alt|title|placeholder|aria-label|aria-description)\s*=\s*"([^"]*)""#,
        )
        .unwrap();
        let word = Regex::new(r"\p{L}").unwrap();
        let text = syntax.replace_all(template, " ");
        let text = hidden.replace_all(&text, " ");
        let text = entity.replace_all(&text, " ");
        let mut found = Vec::new();
        for t in tag.find_iter(&text) {
            for a in attribute.captures_iter(t.as_str()) {
                if word.is_match(&a[2]) {
                    found.push(format!("{}=\"{}\"", &a[1], &a[2]));
                }
            }
        }
        for piece in tag.split(&text) {
            let piece = piece.trim();
            if word.is_match(piece) {
                found.push(piece.to_string());
            }
        }
        found
    }

    #[test]
    fn the_literal_text_check_finds_words_and_only_words() {
        assert_eq!(literal_text("<p>Hello {{ name }}</p>"), vec!["Hello"]);
        assert_eq!(
            literal_text(r#"<img alt="Logo" src="x">"#),
            vec![r#"alt="Logo""#]
        );
        assert!(literal_text(
            r#"<p>{{ layout.t("sign-out") }} &middot; 12 <input value="sms"></p>"#
        )
        .is_empty());
        assert!(literal_text("{% if a %}<b>{{ b }}</b>{% endif %}{# a note #}").is_empty());
        assert_eq!(literal_text("Dear {{ name }},\nyour code").len(), 1);
    }

    #[test]
    fn templates_have_no_literal_text() {
        let dir = root().join("templates");
        let mut files = Vec::new();
        files_under(&dir, &["html", "txt"], &mut files);
        let mut problems = Vec::new();
        for file in files {
            let name = file
                .strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if NOT_YET_TRANSLATED.contains(&name.as_str()) {
                continue;
            }
            let words = literal_text(&std::fs::read_to_string(&file).unwrap());
            if !words.is_empty() {
                problems.push(format!("{name}: {words:?}"));
            }
        }
        assert!(
            problems.is_empty(),
            "words outside the locale files:\n{}",
            problems.join("\n")
        );
    }
}
