//! Statistics over rounds, the markdown report and the SVG chart of ratios.

use std::fmt::Write as _;

/// One measured quantity of a scenario.
pub(crate) struct MetricDef {
    pub(crate) name: &'static str,
    pub(crate) higher_is_better: bool,
}

/// What the report needs to know about a scenario.
pub(crate) struct ScenarioInfo {
    pub(crate) name: &'static str,
    pub(crate) description: String,
    pub(crate) metrics: &'static [MetricDef],
}

/// One measurement: a server in a scenario in a round.
pub(crate) struct Sample {
    pub(crate) scenario: usize,
    pub(crate) server: usize,
    pub(crate) round: usize,
    /// One value per metric of the scenario, or why the run failed.
    pub(crate) values: Result<Vec<f64>, String>,
}

/// Everything a report is made from.
pub(crate) struct Report<'a> {
    pub(crate) title_notes: Vec<String>,
    pub(crate) scenarios: &'a [ScenarioInfo],
    pub(crate) servers: &'a [&'static str],
    pub(crate) baseline: usize,
    pub(crate) rounds: usize,
    pub(crate) samples: &'a [Sample],
    pub(crate) notes: Vec<String>,
}

/// Median and range of some numbers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stat {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) n: usize,
}

fn stat(mut v: Vec<f64>) -> Option<Stat> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Stat {
        median,
        min: v[0],
        max: v[n - 1],
        n,
    })
}

/// A number with about three significant digits.
pub(crate) fn num(x: f64) -> String {
    let a = x.abs();
    if (x.fract() == 0.0 && a >= 2.0) || a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 0.1 || a == 0.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

impl Report<'_> {
    fn value(&self, scenario: usize, server: usize, round: usize, metric: usize) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.scenario == scenario && s.server == server && s.round == round)
            .and_then(|s| s.values.as_ref().ok())
            .and_then(|v| v.get(metric).copied())
            .filter(|v| v.is_finite())
    }

    /// The metric over rounds.
    pub(crate) fn values(&self, scenario: usize, server: usize, metric: usize) -> Option<Stat> {
        stat(
            (0..self.rounds)
                .filter_map(|r| self.value(scenario, server, r, metric))
                .collect(),
        )
    }

    /// The ratio to the baseline measured in the same round, over rounds.
    pub(crate) fn ratios(&self, scenario: usize, server: usize, metric: usize) -> Option<Stat> {
        stat(
            (0..self.rounds)
                .filter_map(|r| {
                    let v = self.value(scenario, server, r, metric)?;
                    let b = self.value(scenario, self.baseline, r, metric)?;
                    (b != 0.0).then_some(v / b)
                })
                .collect(),
        )
    }

    fn failures(&self, scenario: usize, server: usize) -> usize {
        self.samples
            .iter()
            .filter(|s| s.scenario == scenario && s.server == server && s.values.is_err())
            .count()
    }

    fn cell_value(&self, sc: usize, sv: usize, m: usize) -> String {
        match self.values(sc, sv, m) {
            Some(s) if s.n > 1 => format!("{} ({}–{})", num(s.median), num(s.min), num(s.max)),
            Some(s) => num(s.median),
            None => "failed".into(),
        }
    }

    fn cell_ratio(&self, sc: usize, sv: usize, m: usize) -> String {
        if sv == self.baseline {
            return if self.values(sc, sv, m).is_some() {
                "1×".into()
            } else {
                "–".into()
            };
        }
        match self.ratios(sc, sv, m) {
            Some(s) if s.n > 1 => format!("{}× ({}–{})", num(s.median), num(s.min), num(s.max)),
            Some(s) => format!("{}×", num(s.median)),
            None => "–".into(),
        }
    }

    /// The whole report in markdown.
    pub(crate) fn markdown(&self, headline: &[(usize, usize)], targets: &[Target]) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# nodenet benchmark results\n");
        for line in &self.title_notes {
            let _ = writeln!(md, "- {line}");
        }
        let _ = writeln!(
            md,
            "\nEach cell: median over rounds (min–max). Ratios are to `{}` measured in the same \
             round, then the median (min–max) of those ratios. ↑: higher is better; ↓: lower is better. \
             Client and server share the machine's cores, so throughput also depends on how the \
             scheduler places their threads; the server CPU per unit of work is the steadier \
             measure of the server's own cost.\n",
            self.servers[self.baseline]
        );

        // Summary.
        let others: Vec<usize> = (0..self.servers.len())
            .filter(|&s| s != self.baseline)
            .collect();
        let _ = writeln!(md, "## Summary: ratio to {}\n", self.servers[self.baseline]);
        let _ = write!(
            md,
            "| scenario | metric | {} |",
            self.servers[self.baseline]
        );
        for &s in &others {
            let _ = write!(md, " {} |", self.servers[s]);
        }
        let _ = write!(md, "\n|---|---|---:|");
        for _ in &others {
            let _ = write!(md, "---:|");
        }
        md.push('\n');
        for &(sc, m) in headline {
            let info = &self.scenarios[sc];
            let metric = &info.metrics[m];
            let arrow = if metric.higher_is_better {
                "↑"
            } else {
                "↓"
            };
            let base = self
                .values(sc, self.baseline, m)
                .map(|s| num(s.median))
                .unwrap_or_else(|| "failed".into());
            let _ = write!(md, "| {} | {} {arrow} | {base} |", info.name, metric.name);
            for &s in &others {
                let cell = match self.ratios(sc, s, m) {
                    Some(r) => format!("{}×", num(r.median)),
                    None if self.failures(sc, s) > 0 => "failed".into(),
                    None => "–".into(),
                };
                let _ = write!(md, " {cell} |");
            }
            md.push('\n');
        }

        // Targets.
        if !targets.is_empty() {
            let nodenet: Vec<usize> = (0..self.servers.len())
                .filter(|&s| self.servers[s].starts_with("nodenet"))
                .collect();
            let _ = writeln!(md, "\n## Targets of issue 4 (median ratio in this run)\n");
            let _ = write!(md, "| target |");
            for &s in &nodenet {
                let _ = write!(md, " {} |", self.servers[s]);
            }
            let _ = write!(md, "\n|---|");
            for _ in &nodenet {
                let _ = write!(md, "---|");
            }
            md.push('\n');
            for t in targets {
                let _ = write!(md, "| {} |", t.label);
                for &s in &nodenet {
                    let cell = match self.ratios(t.scenario, s, t.metric) {
                        Some(r) => {
                            let ok = if t.at_least {
                                r.median >= t.bound
                            } else {
                                r.median <= t.bound
                            };
                            format!("{}× {}", num(r.median), if ok { "✅" } else { "❌" })
                        }
                        None if self.failures(t.scenario, s) > 0 => "failed ❌".into(),
                        None => "not run".into(),
                    };
                    let _ = write!(md, " {cell} |");
                }
                md.push('\n');
            }
        }

        // Per scenario.
        for (sc, info) in self.scenarios.iter().enumerate() {
            if !self.samples.iter().any(|s| s.scenario == sc) {
                continue;
            }
            let _ = writeln!(md, "\n## {}\n\n{}\n", info.name, info.description);
            let _ = write!(md, "| server |");
            for m in info.metrics {
                let arrow = if m.higher_is_better { "↑" } else { "↓" };
                let _ = write!(
                    md,
                    " {} {arrow} | ×{} |",
                    m.name, self.servers[self.baseline]
                );
            }
            let _ = write!(md, "\n|---|");
            for _ in info.metrics {
                let _ = write!(md, "---:|---:|");
            }
            md.push('\n');
            for sv in 0..self.servers.len() {
                if !self
                    .samples
                    .iter()
                    .any(|s| s.scenario == sc && s.server == sv)
                {
                    continue;
                }
                let _ = write!(md, "| {} |", self.servers[sv]);
                for m in 0..info.metrics.len() {
                    let _ = write!(
                        md,
                        " {} | {} |",
                        self.cell_value(sc, sv, m),
                        self.cell_ratio(sc, sv, m)
                    );
                }
                md.push('\n');
            }
            let mut first = true;
            for s in self.samples.iter().filter(|s| s.scenario == sc) {
                if let Err(e) = &s.values {
                    if std::mem::take(&mut first) {
                        md.push('\n');
                    }
                    let _ = writeln!(
                        md,
                        "- {} failed in round {}: {}",
                        self.servers[s.server],
                        s.round + 1,
                        e
                    );
                }
            }
        }
        if !self.notes.is_empty() {
            let _ = writeln!(md, "\n## Notes\n");
            for n in &self.notes {
                let _ = writeln!(md, "- {n}");
            }
        }
        md
    }

    /// A horizontal grouped bar chart of the median ratios of the headline metrics.
    pub(crate) fn svg(&self, headline: &[(usize, usize)]) -> String {
        const COLORS: [&str; 8] = [
            "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        ];
        let others: Vec<usize> = (0..self.servers.len())
            .filter(|&s| s != self.baseline)
            .collect();
        let groups: Vec<(usize, usize)> = headline
            .iter()
            .copied()
            .filter(|&(sc, _)| self.samples.iter().any(|s| s.scenario == sc))
            .collect();
        let bar_h = 14.0;
        let bar_gap = 3.0;
        let group_gap = 16.0;
        let left = 250.0;
        let plot_w = 560.0;
        let top = 70.0;
        let group_h = others.len() as f64 * (bar_h + bar_gap) + group_gap;
        let height = top + groups.len() as f64 * group_h + 40.0;
        let width = left + plot_w + 90.0;
        let mut max_ratio: f64 = 1.5;
        for &(sc, m) in &groups {
            for &s in &others {
                if let Some(r) = self.ratios(sc, s, m) {
                    max_ratio = max_ratio.max(r.max);
                }
            }
        }
        let max_ratio = (max_ratio * 2.0).ceil() / 2.0;
        let x = |r: f64| left + r / max_ratio * plot_w;

        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(
            svg,
            r#"<rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="15" font-weight="bold">nodenet benchmarks: median ratio to {} (same round)</text>"#,
            esc(self.servers[self.baseline])
        );
        // Legend.
        let mut lx = 10.0;
        for (i, &s) in others.iter().enumerate() {
            let _ = writeln!(
                svg,
                r#"<rect x="{lx:.0}" y="32" width="12" height="12" fill="{}"/><text x="{:.0}" y="43">{}</text>"#,
                COLORS[i % COLORS.len()],
                lx + 16.0,
                esc(self.servers[s])
            );
            lx += 30.0 + 7.5 * self.servers[s].len() as f64;
        }
        // Grid.
        let plot_bottom = height - 30.0;
        let mut g = 0.0;
        while g <= max_ratio + 1e-9 {
            let gx = x(g);
            let (stroke, dash) = if (g - 1.0).abs() < 1e-9 {
                ("#d00", r#" stroke-dasharray="5,3""#)
            } else {
                ("#ddd", "")
            };
            let _ = writeln!(
                svg,
                r##"<line x1="{gx:.1}" y1="{:.0}" x2="{gx:.1}" y2="{plot_bottom:.0}" stroke="{stroke}"{dash}/><text x="{gx:.1}" y="{:.0}" text-anchor="middle" fill="#555">{g:.1}×</text>"##,
                top - 8.0,
                plot_bottom + 14.0
            );
            g += 0.5;
        }
        // Bars.
        for (gi, &(sc, m)) in groups.iter().enumerate() {
            let info = &self.scenarios[sc];
            let metric = &info.metrics[m];
            let gy = top + gi as f64 * group_h;
            let arrow = if metric.higher_is_better {
                "↑"
            } else {
                "↓"
            };
            let _ = writeln!(
                svg,
                r#"<text x="{:.0}" y="{:.0}" text-anchor="end">{} {} {}</text>"#,
                left - 8.0,
                gy + (others.len() as f64 * (bar_h + bar_gap)) / 2.0 + 4.0,
                esc(info.name),
                esc(metric.name),
                arrow
            );
            for (i, &s) in others.iter().enumerate() {
                let y = gy + i as f64 * (bar_h + bar_gap);
                match self.ratios(sc, s, m) {
                    Some(r) => {
                        let w = x(r.median) - left;
                        let _ = writeln!(
                            svg,
                            r#"<rect x="{left:.0}" y="{y:.1}" width="{w:.1}" height="{bar_h}" fill="{}"><title>{}: {}× ({}–{})</title></rect>"#,
                            COLORS[i % COLORS.len()],
                            esc(self.servers[s]),
                            num(r.median),
                            num(r.min),
                            num(r.max)
                        );
                        if r.n > 1 {
                            let _ = writeln!(
                                svg,
                                r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#000"/>"##,
                                x(r.min),
                                y + bar_h / 2.0,
                                x(r.max),
                                y + bar_h / 2.0
                            );
                        }
                        let _ = writeln!(
                            svg,
                            r#"<text x="{:.1}" y="{:.1}" font-size="11">{}×</text>"#,
                            x(r.median.max(r.max)) + 4.0,
                            y + bar_h - 3.0,
                            num(r.median)
                        );
                    }
                    None => {
                        let what = if self.failures(sc, s) > 0 {
                            "failed"
                        } else {
                            "not run"
                        };
                        let _ = writeln!(
                            svg,
                            r##"<text x="{:.0}" y="{:.1}" font-size="11" fill="#d00">{} {what}</text>"##,
                            left + 4.0,
                            y + bar_h - 3.0,
                            esc(self.servers[s])
                        );
                    }
                }
            }
        }
        svg.push_str("</svg>\n");
        svg
    }
}

/// A target of the issue: the median ratio of a metric against a bound.
pub(crate) struct Target {
    pub(crate) label: &'static str,
    pub(crate) scenario: usize,
    pub(crate) metric: usize,
    pub(crate) bound: f64,
    pub(crate) at_least: bool,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
