//! The language switcher: remembered in a cookie, and on the account when signed in.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::accounts::users;
use crate::error::{AppError, PageResult};
use crate::i18n::Lang;
use crate::web::browser::{cleared_ui_locales_cookie, lang_cookie, Browser};
use crate::web::guards::{page_return_path, CsrfForm};
use crate::Ctx;

#[derive(Deserialize)]
pub struct LanguageForm {
    lang: String,
    #[serde(default)]
    back: String,
}

pub async fn switch(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: CsrfForm<LanguageForm>,
) -> PageResult {
    let form = form.into_inner();
    let lang = Lang::parse(&form.lang).ok_or_else(|| AppError::refused("language-unknown"))?;
    if let Some(session) = &browser.session {
        users::set_locale(&ctx, &session.user_id, lang).await?;
    }
    let back = page_return_path(&form.back).unwrap_or_else(|| "/".to_string());
    // The choice beats a relying party's ui_locales from here on: the cookie that carried it
    // goes.
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, back))
        .cookie(lang_cookie(&ctx.settings, lang))
        .cookie(cleared_ui_locales_cookie(&ctx.settings))
        .finish())
}
