//! Product descriptions are Markdown: rendered to HTML that is safe to embed (raw HTML,
//! scripts, iframes, event handlers and `javascript:` links never survive), and flattened to
//! plain text for search.

use std::sync::LazyLock;

use pulldown_cmark::{Event, Options, Parser, html};

/// The longest description accepted, in bytes.
pub const MAX_MARKDOWN_BYTES: usize = 100_000;

/// The sanitizer, built once: its allow-lists are sets of a few hundred entries, the
/// same for every description.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"));
    builder
});

/// Markdown → sanitized HTML.
pub fn render(markdown: &str) -> String {
    let mut unsafe_html = String::new();
    html::push_html(
        &mut unsafe_html,
        Parser::new_ext(
            markdown,
            Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
        ),
    );
    SANITIZER.clean(&unsafe_html).to_string()
}

/// Markdown → the words a reader sees, for the search index and previews.
pub fn plain_text(markdown: &str) -> String {
    let mut text = String::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => text.push(' '),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders() {
        let html = render("# Orders\n\nDaily **orders** from [the shop](https://shop.example).");
        assert!(html.contains("<h1>Orders</h1>") && html.contains("<strong>orders</strong>"));
        assert!(html.contains("href=\"https://shop.example\""));
    }

    #[test]
    fn dangerous_markup_never_survives() {
        for payload in [
            "<script>alert(1)</script>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "[click](javascript:alert(1))",
            "<img src=x onerror=alert(1)>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "[x](JaVaScRiPt:alert(1))",
            "<svg onload=alert(1)>",
        ] {
            let html = render(payload).to_ascii_lowercase();
            for bad in [
                "<script",
                "<iframe",
                "javascript:",
                "onerror",
                "onload",
                "<svg",
            ] {
                assert!(!html.contains(bad), "{payload} -> {html}");
            }
        }
    }

    #[test]
    fn plain_text_drops_markup() {
        assert_eq!(
            plain_text("# Orders\n\n*Daily* `order_id` list"),
            "Orders Daily order_id list"
        );
    }
}
