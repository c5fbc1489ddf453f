//! `recueil run INBOX_DIR`: the embedded default.

use crate::config::Settings;
use recueil_core::{Channel, Contribution};
use recueil_pipeline::embedded::run_inbox;
use recueil_pipeline::Process;
use recueil_store::Intake;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct RunArgs {
    /// Folder holding voicemails and scans (searched recursively).
    inbox: PathBuf,
    /// Print the result as JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: RunArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.inbox.is_dir(),
        "{} is not a folder",
        args.inbox.display()
    );
    let mut processes: Vec<Arc<dyn Process>> = Vec::new();
    let mut missing = Vec::new();
    let engines = crate::engines::Engines::default();
    for channel in Channel::ALL {
        match engines.process_for(channel, settings, None) {
            Ok(p) => processes.push(p),
            Err(crate::engines::EngineError::Missing(m)) => missing.push(m),
            Err(e) => return Err(e.into()),
        }
    }
    let store = super::store(settings).await?;
    let report = run_inbox(
        &store,
        &args.inbox,
        processes,
        Some(crate::engines::scan_pages),
        settings.queue.clone(),
        settings.config.worker(None)?,
        super::shutdown_on_signal(),
    )
    .await?;

    for (_, why) in &report.skipped {
        eprintln!("skipped {}", one_line(why));
    }
    for m in &missing {
        let waiting = report
            .unserved
            .iter()
            .find(|(c, _)| *c == m.channel)
            .map_or(0, |(_, n)| *n);
        if waiting > 0 {
            eprintln!("warning: {m} ({waiting} waiting)");
        }
    }
    // This run's sources: the inbox's files and what earlier runs or
    // intakes had left unfinished.
    let mut ours: HashSet<_> = report
        .ingested
        .iter()
        .map(|(_, i)| match i {
            Intake::Accepted(id) | Intake::Duplicate(id) => *id,
        })
        .collect();
    ours.extend(report.resumed.iter().copied());
    let mut names: std::collections::HashMap<_, _> = report
        .ingested
        .iter()
        .map(|(p, i)| match i {
            Intake::Accepted(id) | Intake::Duplicate(id) => (*id, p.clone()),
        })
        .collect();
    // Read once: this run's source records (names, pages, failures).
    let records: Vec<_> = store
        .sources()
        .await?
        .into_iter()
        .filter(|r| ours.contains(&r.source.id))
        .collect();
    for record in &records {
        names
            .entry(record.source.id)
            .or_insert_with(|| PathBuf::from(&record.source.original_name));
    }
    let contributions: Vec<Contribution> = store
        .contributions()
        .await?
        .into_iter()
        .filter(|c| ours.contains(&c.source_id))
        .collect();
    if args.json {
        // One line per contribution, with the file (and page) it came from.
        let pages: std::collections::HashMap<_, _> = records
            .iter()
            .map(|r| (r.source.id, r.source.page))
            .collect();
        for c in &contributions {
            let mut line = serde_json::to_value(c)?;
            line["file"] = names
                .get(&c.source_id)
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .into();
            line["page"] = pages.get(&c.source_id).copied().unwrap_or(0).into();
            println!("{line}");
        }
    } else {
        print_table(&contributions, &names);
    }
    let failed: Vec<_> = records
        .iter()
        .filter(|r| r.state == recueil_store::SourceState::Failed)
        .collect();
    for r in &failed {
        eprintln!(
            "failed {}: {}",
            one_line(&r.source.original_name),
            one_line(r.last_error.as_deref().unwrap_or("?"))
        );
    }
    eprintln!(
        "{} sources, {} contributions, {} failed, {} files skipped",
        ours.len(),
        contributions.len(),
        failed.len(),
        report.skipped.len()
    );
    Ok(if report.interrupted || !report.unserved.is_empty() {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_table(
    contributions: &[Contribution],
    names: &std::collections::HashMap<recueil_core::SourceId, PathBuf>,
) {
    println!(
        "{:<28} {:<9} {:<12} {:<9} {:>5}  text",
        "file", "channel", "status", "questions", "conf"
    );
    for c in contributions {
        let name = names
            .get(&c.source_id)
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text: String = c
            .text
            .chars()
            .map(|ch| if ch.is_whitespace() { ' ' } else { ch })
            .take(60)
            .collect();
        println!(
            "{:<28} {:<9} {:<12} {:<9} {:>5.2}  {}",
            truncate(&name, 28),
            c.channel.as_str(),
            c.status.as_str(),
            c.questions.to_string(),
            c.confidence,
            text
        );
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// `text` with its control characters escaped (`\n`, `\u{1b}`…): a file
/// name may hold a newline, and one file's report must stay one line that
/// no name can forge.
fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_name_with_a_newline_stays_on_one_line() {
        assert_eq!(
            super::one_line("ligne\nnouvelle.wav"),
            "ligne\\nnouvelle.wav"
        );
        assert_eq!(super::one_line("\u{1b}[31mrouge"), "\\u{1b}[31mrouge");
        assert_eq!(super::one_line("déjà vu.wav"), "déjà vu.wav");
    }
}
