//! The shape of the code, checked: no two modules of a crate import each other, directly
//! or around a loop, and the layers depend one way (`domain` ← `persistence` ←
//! `application` ← `api`).
//!
//! A module is a source file (`a/b.rs` or `a/b/mod.rs` is `a::b`). A module's imports are
//! the `crate::…`, `super::…` and `self::…` paths in its code (comments excluded), each
//! resolved to the deepest module it names. Imports between a module and its ancestors
//! are not counted: a parent declaring and re-exporting its children while the children
//! use the parent's shared items is how a module tree is built, not a loop between peers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates")
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `src/lib.rs` and `src/main.rs` the root.
fn module_of(src: &Path, file: &Path) -> Module {
    let relative = file.strip_prefix(src).expect("inside src");
    let mut parts: Module = relative
        .iter()
        .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file without comments and string literals, so that a path mentioned
/// in a doc comment or a message is not an import.
fn code_of(text: &str) -> String {
    let mut code = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_string = false;
        let mut previous = ' ';
        let mut kept = String::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if !in_string && c == '/' && chars.get(i + 1) == Some(&'/') {
                break;
            }
            if c == '"' && previous != '\\' {
                in_string = !in_string;
            } else if !in_string {
                kept.push(c);
            }
            previous = c;
            i += 1;
        }
        code.push_str(&kept);
        code.push('\n');
    }
    code
}

/// The module paths a file's code names: `crate::a::b`, `super::c`, `self::d`, including
/// the members of `use crate::a::{b, c::d}` groups.
fn named_paths(code: &str, module: &Module, is_mod_file: bool) -> Vec<Module> {
    // The module `super` and `self` are relative to.
    let here: Module = module.clone();
    let parent: Module = if is_mod_file || module.is_empty() {
        module
            .iter()
            .take(module.len().saturating_sub(1))
            .cloned()
            .collect()
    } else {
        module.iter().take(module.len() - 1).cloned().collect()
    };
    let mut found = Vec::new();
    let tokens: Vec<char> = code.chars().collect();
    let text: String = tokens.iter().collect();
    for (start, root) in [
        ("crate::", None),
        ("super::", Some(&parent)),
        ("self::", Some(&here)),
    ] {
        let mut from = 0;
        while let Some(offset) = text[from..].find(start) {
            let at = from + offset;
            from = at + start.len();
            let before = text[..at].chars().last().unwrap_or(' ');
            if before.is_alphanumeric() || before == '_' || before == ':' {
                continue;
            }
            let base: Module = root.cloned().unwrap_or_default();
            for path in expand(&text[from..]) {
                let mut full = base.clone();
                full.extend(path);
                found.push(full);
            }
        }
    }
    found
}

/// The paths at the start of `rest` (after `crate::`), with `{…}` groups expanded.
fn expand(rest: &str) -> Vec<Module> {
    let mut segments = Vec::new();
    let mut chars = rest.char_indices().peekable();
    let mut current = String::new();
    while let Some((i, c)) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            current.push(c);
        } else if c == ':' && rest[i..].starts_with("::") {
            chars.next();
            segments.push(std::mem::take(&mut current));
            if rest[i + 2..].starts_with('{') {
                let group = &rest[i + 3..];
                let mut depth = 1;
                let mut end = 0;
                for (j, g) in group.char_indices() {
                    match g {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        end = j;
                        break;
                    }
                }
                let mut paths = Vec::new();
                for member in split_top_level(&group[..end]) {
                    for tail in expand(member.trim()) {
                        let mut path = segments.clone();
                        path.extend(tail);
                        paths.push(path);
                    }
                }
                return paths;
            }
        } else {
            break;
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    vec![segments]
}

fn split_top_level(group: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&group[start..]);
    parts
}

/// Module → the other modules it imports, for one crate.
fn import_graph(krate: &str) -> BTreeMap<Module, BTreeSet<Module>> {
    let src = crates_dir().join(krate).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<Module> = files.iter().map(|file| module_of(&src, file)).collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        let is_mod_file = file.file_name().is_some_and(|name| name == "mod.rs");
        let code = code_of(&std::fs::read_to_string(file).expect("source"));
        let targets: &mut BTreeSet<Module> = graph.entry(module.clone()).or_default();
        for path in named_paths(&code, &module, is_mod_file) {
            // The deepest module the path names (the rest are items in it).
            let target = (0..=path.len())
                .rev()
                .map(|len| path[..len].to_vec())
                .find(|prefix| modules.contains(prefix))
                .unwrap_or_default();
            let related = target.starts_with(&module) || module.starts_with(&target);
            if !related {
                targets.insert(target);
            }
        }
    }
    graph
}

/// The loops of `graph`: strongly connected components with more than one module.
fn loops(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    // Tarjan's algorithm, written out because the graph is tiny and a dependency for it
    // would outweigh it.
    struct Walk<'a> {
        graph: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        next: usize,
        found: Vec<Vec<Module>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, module: &'a Module) {
            self.index.insert(module, self.next);
            self.low.insert(module, self.next);
            self.next += 1;
            self.stack.push(module);
            self.on_stack.insert(module);
            for target in self.graph.get(module).into_iter().flatten() {
                if !self.index.contains_key(target) {
                    self.visit(target);
                    let low = self.low[target].min(self.low[module]);
                    self.low.insert(module, low);
                } else if self.on_stack.contains(target) {
                    let low = self.index[target].min(self.low[module]);
                    self.low.insert(module, low);
                }
            }
            if self.low[module] == self.index[module] {
                let mut component = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    component.push(member.clone());
                    if member == module {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for module in graph.keys() {
        if !walk.index.contains_key(module) {
            walk.visit(module);
        }
    }
    walk.found
}

fn crates() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(crates_dir())
        .expect("crates")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn no_two_modules_import_each_other() {
    let mut failures = Vec::new();
    for krate in crates() {
        for component in loops(&import_graph(&krate)) {
            let names: Vec<String> = component.iter().map(|m| m.join("::")).collect();
            failures.push(format!("{krate}: {}", names.join(" ↔ ")));
        }
    }
    assert!(
        failures.is_empty(),
        "module loops:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_loop_finder_finds_loops() {
    let module = |name: &str| vec![name.to_string()];
    let mut graph = BTreeMap::new();
    graph.insert(module("a"), BTreeSet::from([module("b")]));
    graph.insert(module("b"), BTreeSet::from([module("c")]));
    graph.insert(module("c"), BTreeSet::from([module("a")]));
    graph.insert(module("d"), BTreeSet::from([module("a")]));
    let found = loops(&graph);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].len(), 3);
    graph.insert(module("c"), BTreeSet::new());
    assert!(loops(&graph).is_empty());
}

#[test]
fn imports_are_read_from_code_with_groups() {
    let code = code_of(
        "use crate::a::{b::C, d};\n// use crate::x::y;\nlet s = \"crate::z::w\";\nsuper::e::f();\n",
    );
    let module = vec!["m".to_string(), "n".to_string()];
    let paths = named_paths(&code, &module, false);
    assert!(paths.contains(&vec!["a".into(), "b".into(), "C".into()]));
    assert!(paths.contains(&vec!["a".into(), "d".into()]));
    assert!(paths.contains(&vec!["m".into(), "e".into(), "f".into()]));
    assert!(!paths
        .iter()
        .any(|p| p.first().is_some_and(|s| s == "x" || s == "z")));
}

/// What each layer may name of the others. `test-databases` is for tests only: no
/// library code names it.
#[test]
fn layers_depend_one_way() {
    let forbidden: [(&str, &[&str]); 7] = [
        (
            "domain",
            &[
                "persistence::",
                "application::",
                "api::",
                "actix_web",
                "diesel",
            ],
        ),
        (
            "persistence",
            &["application::", "api::", "actix_web", "test_databases"],
        ),
        ("application", &["api::", "actix_web", "test_databases"]),
        ("api", &["test_databases"]),
        ("analytics", &["persistence::", "application::", "api::"]),
        (
            "documents",
            &["domain::", "persistence::", "application::", "api::"],
        ),
        ("test-databases", &["application::", "api::", "actix_web"]),
    ];
    let mut failures = Vec::new();
    for (krate, names) in forbidden {
        let src = crates_dir().join(krate).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for file in files {
            let code = code_of(&std::fs::read_to_string(&file).expect("source"));
            for name in names {
                if code.contains(&format!("use {name}")) || code.contains(&format!(" {name}")) {
                    failures.push(format!("{} names {name}", file.display()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
