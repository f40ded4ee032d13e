//! The starter functions `wafer init` writes. Their files live in each guest SDK's `template/`
//! directory and are built into the binary; `{{name}}` and `{{sdk_path}}` are filled in.

use crate::sdk::Language;

/// One file of a template.
pub struct TemplateFile {
    /// Where it goes, relative to the function's directory.
    pub path: &'static str,
    contents: &'static str,
}

macro_rules! template {
    ($($path:literal => $source:literal),+ $(,)?) => {
        &[$(TemplateFile {
            path: $path,
            contents: include_str!(concat!("../../../guest-sdks/", $source)),
        }),+]
    };
}

const RUST: &[TemplateFile] = template! {
    "Cargo.toml" => "rust/template/Cargo.toml.tmpl",
    "src/lib.rs" => "rust/template/src/lib.rs",
    ".gitignore" => "rust/template/gitignore",
};

const JS: &[TemplateFile] = template! {
    "index.js" => "js/template/index.js",
    "package.json" => "js/template/package.json.tmpl",
    ".gitignore" => "js/template/gitignore",
};

const PYTHON: &[TemplateFile] = template! {
    "main.py" => "python/template/main.py",
    ".gitignore" => "python/template/gitignore",
};

/// The file `wafer init` writes next to the template's, and `wafer build` reads.
pub const MANIFEST: &str = "wafer.json";

/// The template of a language.
pub fn files(language: Language) -> &'static [TemplateFile] {
    match language {
        Language::Rust => RUST,
        Language::Js => JS,
        Language::Python => PYTHON,
    }
}

/// The module `wafer build` builds, for the languages whose build starts from one file.
pub fn entrypoint(language: Language) -> Option<&'static str> {
    match language {
        Language::Rust => None,
        Language::Js => Some("index.js"),
        Language::Python => Some("main.py"),
    }
}

/// What a template's placeholders become.
pub struct Values<'a> {
    /// The package (and crate) name, as [`package_name`] makes it.
    pub name: &'a str,
    /// The absolute path of the language's SDK.
    pub sdk_path: &'a str,
}

impl TemplateFile {
    pub fn render(&self, values: &Values<'_>) -> String {
        // The SDK path lands in a TOML basic string.
        let sdk_path = values.sdk_path.replace('\\', "\\\\").replace('"', "\\\"");
        self.contents
            .replace("{{name}}", values.name)
            .replace("{{sdk_path}}", &sdk_path)
    }
}

/// Words a Rust crate may not be named (keywords, and the standard crates).
const RUST_RESERVED: &[&str] = &[
    "abstract",
    "alloc",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "core",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "proc_macro",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "std",
    "struct",
    "super",
    "test",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "union",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
];

/// A package name from a directory's (or `--name`'s) text, valid for cargo, npm and as a file
/// name: lower-case ASCII letters, digits, `_` and single `-`, starting with a letter. A Rust
/// crate also avoids keywords.
pub fn package_name(raw: &str, language: Language) -> String {
    let mut name = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' {
            name.push(c);
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let mut name = name.trim_matches(['-', '_']).to_owned();
    if name.is_empty() {
        name = "function".to_owned();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "function-");
    }
    if language == Language::Rust && RUST_RESERVED.contains(&name.replace('-', "_").as_str()) {
        name.push_str("-function");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_valid_package_names() {
        let rust = |raw| package_name(raw, Language::Rust);
        assert_eq!(rust("hello"), "hello");
        assert_eq!(rust("My Function"), "my-function");
        assert_eq!(rust("my_fn.v2"), "my_fn-v2");
        assert_eq!(rust("--a  b--"), "a-b");
        assert_eq!(rust("héllo"), "h-llo");
        assert_eq!(rust("42"), "function-42");
        assert_eq!(rust("..."), "function");
        assert_eq!(rust("fn"), "fn-function");
        assert_eq!(rust("proc-macro"), "proc-macro-function");
        assert_eq!(package_name("fn", Language::Js), "fn");
    }

    #[test]
    fn every_template_answers_hello_world_and_logs() {
        for language in [Language::Rust, Language::Js, Language::Python] {
            let sources: String = files(language).iter().map(|file| file.contents).collect();
            assert!(sources.contains("Hello, World!"), "{language:?}");
            assert!(sources.contains("Hello, Logs!"), "{language:?}");
            assert!(
                sources.contains("Build like a team of hundreds_"),
                "{language:?}"
            );
            if let Some(entry) = entrypoint(language) {
                assert!(files(language).iter().any(|file| file.path == entry));
            }
        }
    }

    #[test]
    fn the_cargo_manifest_names_the_crate_and_the_sdk() {
        let cargo = &RUST[0];
        assert_eq!(cargo.path, "Cargo.toml");
        let text = cargo.render(&Values {
            name: "hello",
            sdk_path: r#"C:\wafer "x"\guest-sdks\rust"#,
        });
        assert!(text.contains("name = \"hello\""), "{text}");
        assert!(
            text.contains(r#"wafer-guest = { path = "C:\\wafer \"x\"\\guest-sdks\\rust" }"#),
            "{text}"
        );
        assert!(text.contains("\n[workspace]\n"), "{text}");
        assert!(text.contains("crate-type = [\"cdylib\"]"), "{text}");
        assert!(text.contains("lto = true"), "{text}");
        assert!(!text.contains("{{"), "{text}");
    }
}
