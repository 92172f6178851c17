//! The help centre: `/help` lists the articles, `/help/{slug}` shows one, in the request's
//! language. The articles and their rendering live in `crate::help`.

use actix_web::web;
use askama::Template;

use crate::error::{AppError, PageResult};
use crate::help;
use crate::web::browser::Browser;
use crate::web::pages::{render, Layout};
use crate::Ctx;

#[derive(Template)]
#[template(path = "help_index.html")]
pub struct HelpIndexPage {
    pub layout: Layout,
    /// (slug, title) of every article, in the list's order.
    pub articles: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "help_article.html")]
pub struct HelpArticlePage {
    pub layout: Layout,
    pub title: String,
    /// The article as HTML, rendered from our own Markdown with raw HTML turned into text.
    pub body: String,
    /// The contact-support article shows support's phone number and hours.
    pub show_contact: bool,
}

pub async fn index(ctx: web::Data<Ctx>, browser: Browser) -> PageResult {
    let articles = help::ARTICLES
        .iter()
        .map(|a| {
            (
                a.slug,
                help::render_article(a, browser.lang, &ctx.settings).title,
            )
        })
        .collect();
    render(&HelpIndexPage {
        layout: browser.layout_for("help-index-title"),
        articles,
    })
}

pub async fn article(ctx: web::Data<Ctx>, browser: Browser, slug: web::Path<String>) -> PageResult {
    // Only a name on the compiled-in list is ever looked at; nothing is read from disk.
    let article = help::find(&slug).ok_or(AppError::NotFound)?;
    let rendered = help::render_article(article, browser.lang, &ctx.settings);
    render(&HelpArticlePage {
        layout: browser.layout(&rendered.title),
        title: rendered.title,
        body: rendered.html,
        show_contact: article.slug == help::CONTACT_SUPPORT,
    })
}
