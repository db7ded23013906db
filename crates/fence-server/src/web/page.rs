//! Page layout and HTML helpers: one tidy, dependency-free layout (no external assets), and escaping.

use super::Session;
use axum::response::Html;

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
header{background:#1e2a38;color:#fff;padding:.7em 2em;display:flex;gap:1.5em;align-items:center}
header a{color:#cfe3ff;text-decoration:none}header strong{font-size:1.2em;margin-right:1em}
main{max-width:1100px;margin:1.5em auto;padding:0 1.5em}
table{border-collapse:collapse;width:100%;background:#fff}td,th{border-bottom:1px solid #e4e7eb;padding:.45em .6em;text-align:left;vertical-align:top}
.card{background:#fff;border:1px solid #e4e7eb;border-radius:6px;padding:1em 1.3em;margin-bottom:1em}
label{display:block;margin:.6em 0 .2em;font-weight:600}input[type=text],input[type=password],input[type=email],select,textarea{width:100%;max-width:40em;padding:.4em;border:1px solid #cbd2d9;border-radius:4px;box-sizing:border-box}
.inline label{display:inline-block;font-weight:normal;margin-right:1em}
button,.button{background:#2563eb;color:#fff;border:0;border-radius:4px;padding:.5em 1em;cursor:pointer;text-decoration:none;display:inline-block;margin:.2em .2em .2em 0}
button.secondary{background:#52606d}button.danger{background:#c81e1e}
.error{color:#c81e1e;font-size:.9em}.ok{color:#067647}.muted{color:#7b8794}
.badge{padding:.1em .5em;border-radius:3px;color:#fff;font-size:.85em}.critical{background:#FF0000}.high{background:#FFA500}.medium{background:#b59a00}.low{background:#1E90FF}.info{background:#9aa5b1}
.healthy{color:#067647}.broken{color:#c81e1e}.unverified{color:#b54708}pre{background:#0f172a;color:#e2e8f0;padding:1em;overflow:auto;border-radius:4px}";

/// A full page for a logged-in user.
pub fn layout(title: &str, session: &Session, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width\"><title>{t} · Fence</title><style>{STYLE}</style></head><body>\
<header><strong>Fence</strong><a href=/dashboard>Dashboard</a><a href=/findings>Findings</a><a href=/scans>Scans</a><a href=/settings/notifications>Settings → Notifications</a>\
<span style=\"margin-left:auto\" class=muted>{email} ({role})</span><form method=post action=/logout style=\"margin:0\"><input type=hidden name=_csrf value=\"{csrf}\"><button class=secondary>Log out</button></form></header>\
<main><h1>{t}</h1>{body}</main></body></html>",
        t = esc(title),
        email = esc(&session.user.email),
        role = esc(session.user.role.as_str()),
        csrf = esc(&session.csrf),
    ))
}

/// A page without the navigation (log-in, errors).
pub fn bare(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>{t} · Fence</title><style>{STYLE}</style></head><body><header><strong>Fence</strong></header><main><h1>{t}</h1>{body}</main></body></html>",
        t = esc(title)
    ))
}

pub fn plain(text: &str) -> Html<String> {
    bare("Fence", &format!("<p>{}</p>", esc(text)))
}

pub fn csrf_input(session: &Session) -> String {
    format!(
        "<input type=hidden name=_csrf value=\"{}\">",
        esc(&session.csrf)
    )
}

pub fn badge(severity: &str) -> String {
    format!(
        "<span class=\"badge {s}\">{S}</span>",
        s = esc(severity),
        S = esc(&severity.to_uppercase())
    )
}
