//! Askama page structs. One per template in `templates/`; each carries the shared [`Layout`].

use askama::Template;

use crate::error::AppError;

/// What `base.html` needs on every page.
pub struct Layout {
    pub site_name: String,
    pub title: String,
    /// The signed-in person's email, for the header and the sign-out button.
    pub signed_in: Option<String>,
    pub csrf: String,
}

impl Layout {
    pub fn anonymous(title: &str) -> Layout {
        Layout {
            site_name: "Verity".into(),
            title: title.to_string(),
            signed_in: None,
            csrf: String::new(),
        }
    }
}

pub fn render(page: &impl Template) -> Result<actix_web::HttpResponse, AppError> {
    let body = page.render().map_err(|e| AppError::Internal(e.into()))?;
    Ok(actix_web::HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

pub fn render_status(
    page: &impl Template,
    status: actix_web::http::StatusCode,
) -> Result<actix_web::HttpResponse, AppError> {
    let body = page.render().map_err(|e| AppError::Internal(e.into()))?;
    Ok(actix_web::HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub heading: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub layout: Layout,
}

#[derive(Template)]
#[template(path = "signup.html")]
pub struct SignupPage {
    pub layout: Layout,
    pub email: String,
    pub authz: String,
    pub min_length: usize,
    pub max_length: usize,
    pub email_error: Option<String>,
    pub password_error: Option<String>,
    pub confirmation_error: Option<String>,
    pub terms_error: Option<String>,
    pub form_error: Option<String>,
}

#[derive(Template)]
#[template(path = "check_email.html")]
pub struct CheckEmailPage {
    pub layout: Layout,
    pub email: String,
}

#[derive(Template)]
#[template(path = "confirm_email.html")]
pub struct ConfirmEmailPage {
    pub layout: Layout,
    pub confirmed: bool,
    pub sign_in_link: String,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub email: String,
    pub authz: String,
    pub client_name: Option<String>,
    pub error: Option<String>,
    pub notice: Option<String>,
}

#[derive(Template)]
#[template(path = "locked.html")]
pub struct LockedPage {
    pub layout: Layout,
    pub heading: String,
    pub message: String,
    pub what_to_do: String,
    pub retry_link: String,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    pub layout: Layout,
    pub client_name: String,
    pub items: Vec<&'static str>,
    pub authz: String,
    pub email: String,
}

#[derive(Template)]
#[template(path = "terms.html")]
pub struct TermsPage {
    pub layout: Layout,
}

pub struct OutboxItem {
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: String,
    /// Links found in the body, so a newcomer can click through a flow.
    pub links: Vec<String>,
}

#[derive(Template)]
#[template(path = "outbox.html")]
pub struct OutboxPage {
    pub layout: Layout,
    pub messages: Vec<OutboxItem>,
}
