//! Bar charts drawn on the server as SVG.
//!
//! The console works offline and its content security policy allows no
//! inline style and no foreign script, so a chart is geometry computed here
//! and written by the template as `<rect>` and `<text>` elements (SVG
//! attributes, not styles). Every bar carries its value in a `<title>`, and
//! every chart comes with the same numbers as a table for screen readers.

/// A chart ready to be written: its size and its shapes, in SVG units.
#[derive(Debug, Clone)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    pub bars: Vec<Bar>,
    pub labels: Vec<Label>,
}

#[derive(Debug, Clone)]
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    /// The series' CSS class (its colour in console.css).
    pub class: &'static str,
    /// `12 mars : 4 bulletins`, shown on hover.
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct Label {
    pub x: u32,
    pub y: u32,
    pub text: String,
    /// `start`, `middle` or `end`.
    pub anchor: &'static str,
}

/// One column of a stacked column chart: its label and its parts.
pub struct Column {
    pub label: String,
    pub parts: Vec<(&'static str, &'static str, u64)>,
}

const COLUMN_CHART_H: u32 = 180;
const AXIS_H: u32 = 34;
const TOP: u32 = 16;

/// Columns side by side, each a stack of its parts (class, name, value).
pub fn stacked_columns(columns: &[Column]) -> Chart {
    let slot = 34;
    let width = (columns.len() as u32 * slot).max(slot);
    let max = columns
        .iter()
        .map(|c| c.parts.iter().map(|p| p.2).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_h = COLUMN_CHART_H - AXIS_H - TOP;
    let mut bars = Vec::new();
    let mut labels = Vec::new();
    for (i, col) in columns.iter().enumerate() {
        let x = i as u32 * slot + 4;
        let mut base = TOP + plot_h;
        let total: u64 = col.parts.iter().map(|p| p.2).sum();
        for (class, name, value) in &col.parts {
            if *value == 0 {
                continue;
            }
            let h = ((*value as f64 / max as f64) * plot_h as f64)
                .round()
                .max(1.0) as u32;
            base = base.saturating_sub(h);
            bars.push(Bar {
                x,
                y: base,
                w: slot - 8,
                h,
                class,
                title: format!("{} : {value} {name}", col.label),
            });
        }
        if total > 0 {
            labels.push(Label {
                x: x + (slot - 8) / 2,
                y: base.saturating_sub(3),
                text: total.to_string(),
                anchor: "middle",
            });
        }
        labels.push(Label {
            x: x + (slot - 8) / 2,
            y: COLUMN_CHART_H - AXIS_H + 14,
            text: col.label.clone(),
            anchor: "middle",
        });
    }
    Chart {
        width,
        height: COLUMN_CHART_H,
        bars,
        labels,
    }
}

/// One horizontal bar per item, longest first as given.
pub fn rows(items: &[(String, u64)], class: &'static str, unit: &str) -> Chart {
    let (label_w, plot_w, row_h) = (150u32, 300u32, 22u32);
    let max = items.iter().map(|i| i.1).max().unwrap_or(0).max(1);
    let mut bars = Vec::new();
    let mut labels = Vec::new();
    for (i, (name, value)) in items.iter().enumerate() {
        let y = i as u32 * row_h + 4;
        let w = ((*value as f64 / max as f64) * plot_w as f64).round() as u32;
        labels.push(Label {
            x: label_w - 6,
            y: y + 13,
            text: name.clone(),
            anchor: "end",
        });
        if *value > 0 {
            bars.push(Bar {
                x: label_w,
                y,
                w: w.max(1),
                h: row_h - 6,
                class,
                title: format!("{name} : {value} {unit}"),
            });
        }
        labels.push(Label {
            x: label_w + w.max(1) + 4,
            y: y + 13,
            text: value.to_string(),
            anchor: "start",
        });
    }
    Chart {
        width: label_w + plot_w + 40,
        height: (items.len() as u32 * row_h).max(row_h) + 8,
        bars,
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tallest_column_fills_the_plot_and_the_parts_stack() {
        let chart = stacked_columns(&[
            Column {
                label: "12/03".into(),
                parts: vec![("voicemail", "messages", 2), ("ballot", "bulletins", 2)],
            },
            Column {
                label: "13/03".into(),
                parts: vec![("voicemail", "messages", 0), ("ballot", "bulletins", 1)],
            },
        ]);
        let plot_h = COLUMN_CHART_H - AXIS_H - TOP;
        let first: u32 = chart.bars.iter().filter(|b| b.x == 4).map(|b| b.h).sum();
        assert_eq!(first, plot_h);
        // Stacked: the second part sits on the first.
        assert_eq!(chart.bars[1].y + chart.bars[1].h, chart.bars[0].y);
        // A zero part draws nothing; a column of 1 is a quarter of 4.
        assert_eq!(chart.bars.len(), 3);
        assert_eq!(chart.bars[2].h, (plot_h as f64 / 4.0).round() as u32);
        assert!(chart.labels.iter().any(|l| l.text == "4"));
    }

    #[test]
    fn rows_scale_to_the_largest() {
        let chart = rows(
            &[("a".into(), 10), ("b".into(), 5), ("c".into(), 0)],
            "q",
            "",
        );
        assert_eq!(chart.bars.len(), 2);
        assert_eq!(chart.bars[0].w, 2 * chart.bars[1].w);
    }
}
