//! Render a writeup's markdown to a standalone HTML page, close to how GitHub shows it, so
//! `docs/render-writeup.sh` can screenshot it. Usage: `md2html IN.md OUT.html`.
//!
//! Uses pulldown-cmark (a dev-dependency) with GitHub's extensions: tables, strikethrough.

use pulldown_cmark::{html, Options, Parser};

const STYLE: &str = r#"
body { font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, sans-serif;
       font-size: 16px; line-height: 1.5; color: #1f2328; max-width: 1012px; margin: 32px auto;
       padding: 0 24px; }
h1, h2 { border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; }
h1 { font-size: 2em; } h2 { font-size: 1.5em; margin-top: 24px; } h3 { font-size: 1.25em; }
table { border-collapse: collapse; margin: 0 0 16px; display: block; overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
th { font-weight: 600; background: #f6f8fa; }
tr:nth-child(2n) { background: #f6f8fa; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 85%;
       background: rgba(129,139,152,.12); padding: .2em .4em; border-radius: 6px; }
pre { background: #f6f8fa; padding: 16px; border-radius: 6px; overflow: auto; font-size: 85%; }
pre code { background: none; padding: 0; font-size: 100%; }
img { max-width: 100%; }
"#;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: md2html IN.md OUT.html");
        std::process::exit(2);
    }
    let md = match std::fs::read_to_string(&args[1]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: {e}", args[1]);
            std::process::exit(1);
        }
    };
    let mut body = String::new();
    html::push_html(
        &mut body,
        Parser::new_ext(&md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH),
    );
    let page = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>writeup</title>\
         <style>{STYLE}</style></head><body>\n{body}</body></html>\n"
    );
    if let Err(e) = std::fs::write(&args[2], page) {
        eprintln!("{}: {e}", args[2]);
        std::process::exit(1);
    }
}
