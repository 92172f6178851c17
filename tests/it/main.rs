//! Integration tests: a real server on a real port, a browser with cookies, and an RP built
//! on the openidconnect crate. Run on SQLite + memory by default, on PostgreSQL + Redis when
//! VERITY_TEST_DATABASE_URL / VERITY_TEST_REDIS_URL are set.

mod accounts;
mod admin_audit;
mod admin_clients;
mod admin_harness;
mod admin_keys;
mod admin_notices;
mod admin_support;
mod admin_users;
mod assets;
mod at_rest;
mod client_auth;
mod concurrency;
mod console;
mod dpop;
mod emails;
mod guards;
mod harness;
mod headers;
mod help;
mod keys;
mod language;
mod logout;
mod mfa;
mod notices;
mod oauth_review;
mod oidc;
mod ops;
mod pages_auth;
mod pages_console;
mod pages_mfa;
mod passwords;
mod phones;
mod promises_account;
mod promises_admin;
mod promises_oauth;
mod races;
mod recovery;
mod registration;
mod requests;
mod reset;
mod routes;
mod support;
mod timeouts;
mod tokens;
