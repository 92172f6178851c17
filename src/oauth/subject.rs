//! The `sub` a relying party sees: the account id, or for pairwise clients (OIDC Core §8.1) a
//! per-sector identifier that two unrelated RPs can't correlate.

use crate::oauth::clients::Client;
use crate::Ctx;

pub fn for_client(ctx: &Ctx, client: &Client, user_id: &str) -> String {
    if !client.pairwise() {
        return user_id.to_string();
    }
    let key = ctx.master.derive("verity/pairwise-subject/v1");
    crate::crypto::mac(&key, format!("{}|{}", client.sector(), user_id).as_bytes())
}
