//! The reports as text, for a person at a terminal (`recueil eval ballots`,
//! `recueil bench ballots`); `--json` serialises the same structures.

use super::bench::BenchReport;
use super::measure::{EvalReport, RealCollection, RealResult};
use super::pool::workers;

impl std::fmt::Display for EvalReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "pages: {}  ({:.1} pages/min, {} worker threads)",
            self.pages,
            self.pages_per_minute,
            workers()
        )?;
        writeln!(f, "page kind correct: {}/{}", self.kind_correct, self.pages)?;
        writeln!(
            f,
            "tick accuracy (unambiguous boxes): {}/{} = {:.1} %",
            self.ticks_correct,
            self.ticks_total,
            100.0 * self.tick_accuracy()
        )?;
        writeln!(
            f,
            "ambiguous boxes flagged: {}/{}; boxes wrongly flagged ambiguous: {}",
            self.ambiguous_flagged, self.ambiguous_total, self.false_ambiguous
        )?;
        writeln!(
            f,
            "urn (QR) correct: {}/{}",
            self.urn_correct, self.urn_total
        )?;
        writeln!(
            f,
            "orientation correct: {}/{}",
            self.rotation_correct, self.pages
        )?;
        writeln!(
            f,
            "review rate (pages with a contribution): {:.1} %",
            100.0 * self.review_rate
        )?;
        writeln!(
            f,
            "texts published without review: {}, character error rate {:.2} % (pooled)",
            self.published_texts,
            100.0 * self.published_cer
        )?;
        writeln!(
            f,
            "character error rate per font (mean / max, pages, sent to review):"
        )?;
        for (font, fig) in &self.per_font {
            writeln!(
                f,
                "  {font:<18} {:>6.2} % / {:>6.2} %  {:>2} pages  {:>2} reviewed",
                100.0 * fig.mean_cer,
                100.0 * fig.max_cer,
                fig.pages,
                fig.reviewed
            )?;
        }
        if !self.unreliable_published.is_empty() {
            writeln!(
                f,
                "UNRELIABLE TEXT NOT SENT TO REVIEW: {:?}",
                self.unreliable_published
            )?;
        }
        for d in self.details.iter().filter(|d| d.misread() || !d.urn_ok) {
            let read: Vec<String> = d
                .boxes
                .iter()
                .map(|b| match b.read {
                    Some(r) if r == b.truth => format!("{r:?}"),
                    Some(r) => format!("{r:?} (truth {:?})", b.truth),
                    None => format!("unread (truth {:?})", b.truth),
                })
                .collect();
            let kind = d.kind.map_or("unread", crate::reader::kind_name);
            writeln!(
                f,
                "  misread {} p{}: {kind}, boxes [{}], urn {}; {}",
                d.file,
                d.page,
                read.join(", "),
                if d.urn_ok { "right" } else { "wrong" },
                d.conditions
            )?;
        }
        for r in &self.real {
            let cli = r
                .cli_cer
                .map_or_else(|| "   n/a".to_owned(), |c| format!("{:>6.2}", 100.0 * c));
            writeln!(
                f,
                "  real {:<22} {:<50} CER {:>6.2} % (tesseract CLI {cli} %)  confidence {:.2}  review {}",
                r.collection,
                r.file,
                100.0 * r.cer,
                r.confidence,
                r.needs_review
            )?;
        }
        for collection in RealCollection::ALL {
            let pages: Vec<&RealResult> = self
                .real
                .iter()
                .filter(|r| r.collection == collection && r.cli_cer.is_some())
                .collect();
            if !pages.is_empty() {
                let lower = pages
                    .iter()
                    .filter(|r| r.cli_cer.is_some_and(|c| r.cer < c))
                    .count();
                writeln!(
                    f,
                    "  real {collection}: recueil's CER lower than the tesseract CLI's on {lower} of {} pages",
                    pages.len()
                )?;
            }
        }
        for e in &self.errors {
            writeln!(f, "error: {e}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "pages (text crops): {}", self.pages)?;
        writeln!(
            f,
            "full pipeline, 1 thread:      {:>7.1} pages/min",
            self.pipeline_pages_per_min
        )?;
        writeln!(
            f,
            "OCR in process, 1 thread:     {:>7.1} pages/min",
            self.ocr_pages_per_min
        )?;
        match (self.cli_pages_per_min, self.ratio_vs_cli) {
            (Some(c), Some(r)) => {
                writeln!(f, "tesseract CLI, same crops:    {c:>7.1} pages/min")?;
                writeln!(f, "ratio in-process / CLI:       {r:>7.2}")?;
            }
            _ => writeln!(
                f,
                "tesseract CLI: not installed (apt-get install tesseract-ocr)"
            )?,
        }
        if self.real.is_empty() {
            return Ok(());
        }
        writeln!(
            f,
            "real typewritten pages, read whole, 1 thread (recueil | tesseract CLI, default settings):"
        )?;
        let opt = |v: Option<f32>, scale: f32| {
            v.map_or_else(|| "     -".to_owned(), |v| format!("{:>6.1}", scale * v))
        };
        for r in &self.real {
            writeln!(
                f,
                "  {:<55} {:>6.1} s | {} s   CER {:>5.1} % | {} %",
                r.file,
                r.seconds,
                opt(r.cli_seconds, 1.0),
                100.0 * r.cer,
                opt(r.cli_cer, 100.0)
            )?;
        }
        let seconds: f32 = self.real.iter().map(|r| r.seconds).sum();
        let cli: Option<f32> = self.real.iter().map(|r| r.cli_seconds).sum();
        let lower = self
            .real
            .iter()
            .filter(|r| r.cli_cer.is_some_and(|c| r.cer < c))
            .count();
        write!(f, "  total {seconds:.1} s")?;
        if let Some(cli) = cli {
            write!(
                f,
                " | {cli:.1} s, time ratio recueil / CLI {:.2}",
                seconds / cli
            )?;
        }
        writeln!(
            f,
            "; recueil's CER lower on {lower} of {} pages",
            self.real.len()
        )
    }
}
