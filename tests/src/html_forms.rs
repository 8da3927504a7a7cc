//! Reading `<form>`s: as templates write them (with `{{ … }}` in their actions), and as a
//! page renders them, with the values a browser would send untouched. Used by
//! `tests/tests/forms.rs` to submit every form as a person would.

use std::path::Path;

/// A `<form>` as a template writes it.
#[derive(Debug)]
pub struct TemplateForm {
    pub template: String,
    pub method: String,
    /// With `{{ … }}` segments; `None` posts to the page itself.
    pub action: Option<String>,
    pub has_csrf: bool,
}

pub fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

pub fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

/// Each `<form …>` opening tag and its body up to `</form>`.
pub fn form_blocks(html: &str) -> Vec<(&str, &str)> {
    let mut blocks = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<form") {
        let open_end = start + rest[start..].find('>').expect("a closed <form> tag");
        let close = open_end + rest[open_end..].find("</form>").expect("</form>");
        blocks.push((&rest[start..=open_end], &rest[open_end + 1..close]));
        rest = &rest[close..];
    }
    blocks
}

/// Every form in the templates under `frontend/`.
pub fn template_forms() -> Vec<TemplateForm> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontend");
    let mut forms = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let template = path.strip_prefix(&root).unwrap().display().to_string();
            for (tag, body) in form_blocks(&text) {
                forms.push(TemplateForm {
                    template: template.clone(),
                    method: attribute(tag, "method").unwrap_or_else(|| "get".into()),
                    action: attribute(tag, "action"),
                    has_csrf: body.contains("name=\"csrf_token\""),
                });
            }
        }
    }
    forms.sort_by(|a, b| (&a.template, &a.action).cmp(&(&b.template, &b.action)));
    forms
}

/// Whether a path matches a pattern whose `*` or `{{ … }}` segments match any one segment
/// (`**` matches any path).
pub fn matches(pattern: &str, path: &str) -> bool {
    if pattern == "**" {
        return true;
    }
    let pattern: Vec<_> = pattern.split('/').collect();
    let path: Vec<_> = path.split('/').collect();
    pattern.len() == path.len()
        && pattern.iter().zip(&path).all(|(p, s)| {
            *p == "*" || (p.starts_with("{{") && p.ends_with("}}") && !s.is_empty()) || p == s
        })
}

/// A form as a page rendered it, with the values a browser would send untouched.
#[derive(Debug)]
pub struct RenderedForm {
    pub method: String,
    pub action: Option<String>,
    pub fields: Vec<(String, String)>,
}

pub fn rendered_forms(html: &str) -> Vec<RenderedForm> {
    form_blocks(html)
        .into_iter()
        .map(|(tag, body)| {
            let mut fields = Vec::new();
            let mut rest = body;
            while let Some(start) = rest.find('<') {
                let end = start + rest[start..].find('>').unwrap_or(rest.len() - start - 1);
                let element = &rest[start..=end];
                let name = attribute(element, "name");
                if let (true, Some(name)) = (element.starts_with("<input"), name.clone()) {
                    let kind = attribute(element, "type").unwrap_or_default();
                    if kind != "checkbox" || element.contains(" checked") {
                        let value = attribute(element, "value").unwrap_or_else(|| {
                            if kind == "checkbox" {
                                "on".into()
                            } else {
                                String::new()
                            }
                        });
                        fields.push((name, value));
                    }
                } else if let (true, Some(name)) = (element.starts_with("<select"), name.clone()) {
                    let options = &rest[end..rest[end..].find("</select>").unwrap() + end];
                    let value = options
                        .split("<option")
                        .skip(1)
                        .find(|o| o.contains(" selected"))
                        .or_else(|| options.split("<option").nth(1))
                        .map(|o| {
                            // An option without a value sends its text.
                            attribute(o, "value").unwrap_or_else(|| {
                                let text = &o[o.find('>').map_or(0, |i| i + 1)..];
                                unescape(text[..text.find('<').unwrap_or(text.len())].trim())
                            })
                        })
                        .unwrap_or_default();
                    fields.push((name, value));
                } else if let (true, Some(name)) = (element.starts_with("<textarea"), name.clone())
                {
                    let text =
                        &rest[end + 1..end + 1 + rest[end + 1..].find("</textarea>").unwrap()];
                    fields.push((name, unescape(text)));
                } else if let (true, Some(name)) = (element.starts_with("<button"), name) {
                    fields.push((name, attribute(element, "value").unwrap_or_default()));
                }
                rest = &rest[end + 1..];
            }
            RenderedForm {
                method: attribute(tag, "method").unwrap_or_else(|| "get".into()),
                action: attribute(tag, "action"),
                fields,
            }
        })
        .collect()
}
