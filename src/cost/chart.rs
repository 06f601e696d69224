//! The chart: monthly cost against hours up, one line per alternative, as SVG.

use std::path::Path;

use plotters::prelude::*;

use super::model::{Alternative, Model};
use crate::error::{Error, Result};

/// One colour per alternative, in `Alternative::ALL` order (colour-blind safe).
const COLOURS: [RGBColor; 4] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(0, 158, 115),
];

/// Points per line: enough to show the bend where free data out runs out.
const SAMPLES: usize = 146;

/// Writes the chart of `model` from 0 to `max_hours` hours up per month to
/// `path` (SVG). A path that does not end in `.svg` is refused (exit 2).
pub fn write_svg(path: &Path, model: &Model, max_hours: f64) -> Result<()> {
    let is_svg = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    if !is_svg {
        return Err(Error::config("--chart", format!("{} is not an .svg path", path.display()), "give a file name ending in .svg (PNG is not produced: it would need a font and raster stack)"));
    }
    let max_x = if max_hours > 0.0 { max_hours } else { 1.0 };
    let series: Vec<(Alternative, Vec<(f64, f64)>)> = Alternative::ALL
        .iter()
        .map(|&a| {
            let points = (0..=SAMPLES)
                .map(|i| max_x * i as f64 / SAMPLES as f64)
                .map(|h| (h, model.monthly(a, h)))
                .collect();
            (a, points)
        })
        .collect();
    let max_y = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .fold(1.0_f64, f64::max)
        * 1.1;
    let title = format!(
        "Monthly cost by hours up: {} vCPU / {} GB {}, {} participants, {}",
        super::model::qty(model.platform.vcpu),
        super::model::qty(model.platform.memory_gb),
        match model.platform.architecture {
            crate::config::CpuArchitecture::Arm64 => "ARM64",
            crate::config::CpuArchitecture::X86_64 => "x86_64",
        },
        model.usage.participants,
        model.region
    );
    let failed = |e: &dyn std::fmt::Display| {
        Error::config(
            "--chart",
            format!("cannot draw {}: {e}", path.display()),
            "give a path in a directory you can write to",
        )
    };
    let root = SVGBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| failed(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(18)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..max_x, 0f64..max_y)
        .map_err(|e| failed(&e))?;
    chart
        .configure_mesh()
        .x_desc("Hours up per month")
        .y_desc("USD per month")
        .y_label_formatter(&|y| format!("${y:.0}"))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()
        .map_err(|e| failed(&e))?;
    for (i, (alternative, points)) in series.into_iter().enumerate() {
        let style = COLOURS[i % COLOURS.len()].stroke_width(3);
        chart
            .draw_series(LineSeries::new(points, style))
            .map_err(|e| failed(&e))?
            .label(alternative.label())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(|e| failed(&e))?;
    root.present().map_err(|e| failed(&e))?;
    Ok(())
}
