//! The man page and the shell completions, generated from the same tables the command line
//! is parsed with (`args`) and the help text (`usage::HELP`), so that none can drift from
//! the others: a test checks every option of the tables appears in all of them.

use crate::usage::HELP;

/// Every option the parser knows, as typed: long ones with two dashes, Nmap's two-letter
/// spellings (`-iL`, `-oX`) and the short ones with one.
pub(crate) fn option_names() -> Vec<String> {
    let long = crate::args::long_options().map(|name| {
        let dashes = if name.len() == 2 { "-" } else { "--" };
        format!("{dashes}{name}")
    });
    long.chain(crate::args::SHORT_OPTIONS.iter().map(|short| short.to_string())).collect()
}

/// portolan(1) in roff, from the help text: each section a `.SH`, each option a `.TP`.
pub(crate) fn man_page() -> String {
    let mut page = format!(
        ".TH PORTOLAN 1 \"\" \"portolan {}\" \"User Commands\"\n\
         .SH NAME\nportolan \\- a network port scanner with Nmap's command line\n\
         .SH SYNOPSIS\n\\fBportolan\\fR [\\fIScan Type(s)\\fR] [\\fIOptions\\fR] {{\\fItarget specification\\fR}}\n",
        env!("CARGO_PKG_VERSION")
    );
    for line in HELP.lines().skip(2) {
        if !line.starts_with(' ') && line.ends_with(':') {
            page += &format!(".SH {}\n", roff(line.trim_end_matches(':')));
        } else if let Some(option) = line.strip_prefix("  ").filter(|text| !text.starts_with(' ')) {
            match option.split_once(": ") {
                Some((names, text)) => page += &format!(".TP\n\\fB{}\\fR\n{}\n", roff(names), roff(text)),
                None => page += &format!("{}\n.br\n", roff(option)),
            }
        } else {
            page += &format!("{}\n", roff(line.trim()));
        }
    }
    page
}

/// Text safe in roff: backslashes and dashes escaped, no line starting with a dot.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// The commands `portolan` takes as its first word instead of a scan.
const SUBCOMMANDS: [&str; 7] = ["history", "diff", "merge", "report", "config", "manpage", "completions"];

/// A completion script for `shell` (bash, zsh or fish), or `None` for another shell. The
/// subcommands complete as the first word only.
pub(crate) fn completions(shell: &str) -> Option<String> {
    let names = option_names();
    let subcommands = SUBCOMMANDS.join(" ");
    Some(match shell {
        "bash" => format!(
            "# bash completion for portolan\n\
             _portolan() {{\n    local cur=\"${{COMP_WORDS[COMP_CWORD]}}\"\n    \
             local words=\"{}\"\n    \
             [ \"$COMP_CWORD\" -eq 1 ] && words=\"$words {subcommands}\"\n    \
             COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n}}\n\
             complete -o default -F _portolan portolan\n",
            names.join(" ")
        ),
        "zsh" => format!(
            "#compdef portolan\n# zsh completion for portolan\n\
             _portolan() {{\n    (( CURRENT == 2 )) && compadd -- {subcommands}\n    compadd -- {}\n    _hosts\n}}\n\
             _portolan \"$@\"\n",
            names.join(" ")
        ),
        "fish" => {
            let lines: Vec<String> = names
                .iter()
                .map(|name| match name.strip_prefix("--") {
                    Some(long) => format!("complete -c portolan -l {long}"),
                    None => {
                        let short = name.trim_start_matches('-');
                        if short.len() == 1 {
                            format!("complete -c portolan -s {short}")
                        } else {
                            format!("complete -c portolan -o {short}")
                        }
                    }
                })
                .collect();
            format!(
                "# fish completion for portolan\ncomplete -c portolan -n __fish_use_subcommand -a \"{subcommands}\"\n{}\n",
                lines.join("\n")
            )
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `text` names `option` as a whole word (not as part of a longer option).
    fn names(text: &str, option: &str) -> bool {
        text.match_indices(option).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + option.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '-')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '-')
        })
    }

    #[test]
    fn every_subcommand_is_in_the_help_and_every_completion() {
        for shell in ["bash", "zsh", "fish"] {
            let script = completions(shell).unwrap();
            for subcommand in SUBCOMMANDS {
                assert!(names(&script, subcommand), "{shell} completion lacks {subcommand}");
                assert!(HELP.contains(&format!("portolan {subcommand}")), "help lacks 'portolan {subcommand}'");
            }
        }
    }

    #[test]
    fn every_option_of_the_parser_is_in_the_help_the_man_page_and_every_completion() {
        let man = man_page().replace("\\-", "-").replace("\\fB", " ").replace("\\fR", " ");
        let scripts: Vec<String> = ["bash", "zsh", "fish"].iter().map(|shell| completions(shell).unwrap()).collect();
        for option in option_names() {
            let bare = option.trim_start_matches('-');
            // The help may write a two-letter option under its one-dash or two-dash form.
            assert!(names(HELP, &option) || names(HELP, &format!("-{bare}")), "help lacks {option}");
            assert!(names(&man, &option) || names(&man, &format!("-{bare}")), "the man page lacks {option}");
            for script in &scripts {
                assert!(script.contains(bare), "a completion lacks {option}");
            }
        }
        assert_eq!(completions("tcsh"), None);
    }
}
