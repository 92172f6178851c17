//! The query parameters every paged list takes.

use serde::Deserialize;
use utoipa::IntoParams;

/// `?cursor=&limit=`, as strings: the flow parses them, so a bad value is named.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// `next_cursor` of the previous page; leave out for the first page.
    pub cursor: Option<String>,
    /// Items per page (the default and the maximum are configured; more is refused).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub limit: Option<String>,
}
