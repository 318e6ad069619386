//! The server's folders are layers: each may name only the folders below it, plus `config`
//! and `state`, which every part may name. This reads the source and says which file breaks
//! the order, so a circle of imports cannot grow back unnoticed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each folder of `src/` and the folders of `src/` it may name besides itself.
const LAYERS: [(&str, &[&str]); 7] = [
    ("keys", &[]),
    ("store", &["keys"]),
    ("streams", &["store", "keys"]),
    ("tasks", &["store", "keys"]),
    ("import", &["store"]),
    ("http", &["tasks", "streams", "store", "keys"]),
    ("witness", &[]),
];

/// What every part may name.
const SHARED: [&str; 2] = ["config", "state"];

/// The folders of `src/` that are not layers: `bin` holds entry points, which name the
/// library as `audit_server`, not `crate`.
const TOP_LEVEL_FOLDERS: [&str; 1] = ["bin"];

/// The files that may sit at the top of `src/`.
const TOP_LEVEL_FILES: [&str; 4] = ["config.rs", "lib.rs", "main.rs", "state.rs"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

/// The top-level modules a file names as `crate::<module>` or `crate::{<module>, ...}`,
/// comments left out.
fn named_modules(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut named = BTreeSet::new();
    for (index, _) in code.match_indices("crate::") {
        let preceded_by_word = code[..index]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if preceded_by_word {
            continue;
        }
        let rest = &code[index + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => named.extend(group_heads(group)),
            None => named.extend(identifier(rest)),
        }
    }
    named
}

/// The leading identifier of `text`, if it starts with one.
fn identifier(text: &str) -> Option<String> {
    let name: String = text
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The first identifier of each item of a `{a::b, c, d::{e, f}}` group (`group` starts after
/// its opening brace).
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut item_start = true;
    for (index, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => item_start = true,
            c if item_start && !c.is_whitespace() => {
                heads.extend(identifier(&group[index..]));
                item_start = false;
            }
            _ => {}
        }
    }
    heads
}

#[test]
fn the_top_of_src_holds_only_the_entry_points_config_state_and_the_layers() {
    let mut unexpected = Vec::new();
    for entry in std::fs::read_dir(src()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let expected = if entry.path().is_dir() {
            LAYERS.iter().any(|(layer, _)| *layer == name) || TOP_LEVEL_FOLDERS.contains(&name.as_str())
        } else {
            TOP_LEVEL_FILES.contains(&name.as_str())
        };
        if !expected {
            unexpected.push(name);
        }
    }
    assert!(
        unexpected.is_empty(),
        "not a layer, config or state: {unexpected:?}"
    );
}

#[test]
fn each_layer_names_only_the_layers_below_it() {
    let mut breaks = Vec::new();
    for (layer, below) in LAYERS {
        let mut files = Vec::new();
        rust_files(&src().join(layer), &mut files);
        assert!(!files.is_empty(), "src/{layer} has no files");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for module in named_modules(&text) {
                let allowed =
                    module == layer || below.contains(&module.as_str()) || SHARED.contains(&module.as_str());
                if !allowed {
                    breaks.push(format!("{} names crate::{module}", file.display()));
                }
            }
        }
    }
    assert!(
        breaks.is_empty(),
        "imports against the layer order:\n{}",
        breaks.join("\n")
    );
}

#[test]
fn the_reader_finds_what_a_file_names() {
    let text = "use crate::store::Store;\n// crate::http in a comment\nlet x = crate::keys::secret::hash(s); // crate::tasks\n\
                use crate::{\n    config::Config,\n    streams::{worker, file},\n    self,\n};\nmy_crate::tasks::run();\n";
    let named: Vec<String> = named_modules(text).into_iter().collect();
    assert_eq!(named, ["config", "keys", "self", "store", "streams"]);
}
