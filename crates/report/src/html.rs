//! One self-contained HTML file per study: no scripts, no external files; plots are inline SVG.
//!
//! Sections (each a `<section id=…>`, each plot a `<figure class="plot" id=…>` around one `<svg>`):
//!
//! | section | what |
//! |---|---|
//! | `summary` | objectives, constraints, trials per state, hypervolume and reference point, best value per objective |
//! | `pareto` | 2 objectives: the front over all complete trials (`plot-front`); 3 or more: one plot per pair of objectives (`plot-front-I-J`), non-dominated in all objectives highlighted |
//! | `anytime` | hypervolume (≥ 2 objectives) and best-so-far per objective, over trials (`plot-hv-trials`, `plot-best-K-trials`) and over simulated time (`plot-hv-time`, `plot-best-K-time`; wall-clock evaluation time when the evaluator keeps no simulated clock) |
//! | `choices` | per dimension of the space, the first objective's distribution per choice (`plot-choice-D`) |
//! | `trials` | every trial: number, state, objectives, other metrics and profile, architecture, error; front members marked |

use crate::front::{best_so_far, hypervolume_over_trials, objective_values, pareto, StudySpec};
use crate::plot::{lines, per_choice, FrontPlot};
use crate::ReportError;
use std::fmt::Write as _;
use tessera_core::{Direction, StudyInfo, Trial, TrialState};

/// Options of [`render`].
#[derive(Clone, Debug, Default)]
pub struct ReportOptions {
    /// Hypervolume reference point in the metrics' units (default: see [`crate::front::default_reference`]).
    pub reference: Option<Vec<f64>>,
}

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn num(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.abs() >= 1000.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn dir(d: Direction) -> &'static str {
    match d {
        Direction::Max => "max",
        Direction::Min => "min",
    }
}

fn figure(out: &mut String, id: &str, svg: &str) {
    let _ = writeln!(out, "<figure class=\"plot\" id=\"{id}\">{svg}</figure>");
}

/// The names of a space's dimensions and choices, when the space is known to `tessera-spaces`, built with the
/// study's own space options (with default options a non-default space's dimensions were mislabelled).
fn dims_of(spec: &StudySpec, trials: &[Trial]) -> Vec<(String, Vec<String>)> {
    if let Some(sp) = spec
        .space
        .as_deref()
        .and_then(|n| tessera_spaces::build(n, &spec.space_options).ok())
    {
        return sp
            .dims()
            .iter()
            .map(|d| (d.name.clone(), d.choices.clone()))
            .collect();
    }
    let n = trials.iter().map(|t| t.sample.len()).max().unwrap_or(0);
    (0..n)
        .map(|d| {
            let k = trials
                .iter()
                .filter_map(|t| t.sample.as_slice().get(d))
                .max()
                .map_or(0, |&m| m as usize + 1);
            (format!("d{d}"), (0..k).map(|c| c.to_string()).collect())
        })
        .collect()
}

/// With a given reference point, the plot shows the region that counts: the trials that dominate it and the
/// point itself (with a margin), so that far-away trials (a 10 %-accuracy network) do not squash the front.
fn focus(
    values: &[Option<Vec<f64>>],
    objs: &[tessera_core::Objective],
    r: &[f64],
    a: usize,
    b: usize,
) -> Option<(std::ops::Range<f64>, std::ops::Range<f64>)> {
    let better = |v: &[f64]| {
        v.iter()
            .zip(objs)
            .zip(r)
            .all(|((&x, o), &rr)| o.oriented(x) > o.oriented(rr))
    };
    let inside: Vec<(f64, f64)> = values
        .iter()
        .flatten()
        .filter(|v| better(v))
        .map(|v| (v[a], v[b]))
        .collect();
    if inside.is_empty() {
        return None;
    }
    let widen = |rg: std::ops::Range<f64>| {
        let w = rg.end - rg.start;
        (rg.start - 0.15 * w)..(rg.end + 0.15 * w)
    };
    let xs = inside.iter().map(|p| p.0).chain([r[a]]);
    let ys = inside.iter().map(|p| p.1).chain([r[b]]);
    Some((widen(crate::plot::range(xs)), widen(crate::plot::range(ys))))
}

/// Renders the report of one study.
pub fn render(
    info: &StudyInfo,
    trials: &[Trial],
    opts: &ReportOptions,
) -> Result<String, ReportError> {
    let spec = StudySpec::from_info(info)?;
    let objs = &spec.objectives;
    let m = objs.len();
    let p = pareto(trials, objs, opts.reference.as_deref())?;
    let on_front: std::collections::HashSet<usize> = p.front.iter().copied().collect();
    let values: Vec<Option<Vec<f64>>> = trials.iter().map(|t| objective_values(t, objs)).collect();

    let mut html = String::new();
    let title = format!("Tessera report: {}", spec.name);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&title),
        STYLE,
        esc(&title)
    );

    // Summary.
    let counts: Vec<String> = TrialState::ALL
        .iter()
        .filter(|s| info.count(**s) > 0 || trials.iter().any(|t| t.state == **s))
        .map(|s| format!("{} {}", trials.iter().filter(|t| t.state == *s).count(), s))
        .collect();
    let _ = write!(
        html,
        "<section id=\"summary\"><h2>Summary</h2><table class=\"kv\">"
    );
    let mut kv = |k: &str, v: String| {
        let _ = write!(html, "<tr><th>{}</th><td>{}</td></tr>", esc(k), v);
    };
    kv("space", esc(spec.space.as_deref().unwrap_or("?")));
    kv(
        "objectives",
        esc(&objs
            .iter()
            .map(|o| format!("{} ({})", o.metric, dir(o.direction)))
            .collect::<Vec<_>>()
            .join(", ")),
    );
    kv(
        "constraints",
        if spec.constraints.is_empty() {
            "none".into()
        } else {
            esc(&spec
                .constraints
                .iter()
                .map(|c| c.describe())
                .collect::<Vec<_>>()
                .join("; "))
        },
    );
    kv(
        "trials",
        format!("{} ({})", trials.len(), esc(&counts.join(", "))),
    );
    if m >= 2 {
        kv(
            "hypervolume",
            format!(
                "{} with reference point ({}){}; {} non-dominated of {} complete trials",
                num(p.hypervolume),
                p.reference
                    .iter()
                    .map(|&v| num(v))
                    .collect::<Vec<_>>()
                    .join(", "),
                if p.reference_given {
                    ""
                } else {
                    " (default: worst values, 10% of the range further)"
                },
                p.front.len(),
                p.candidates
            ),
        );
    }
    for (k, o) in objs.iter().enumerate() {
        let best = trials
            .iter()
            .enumerate()
            .filter_map(|(i, _)| values[i].as_ref().map(|v| (i, v[k])))
            .max_by(|a, b| {
                o.oriented(a.1)
                    .total_cmp(&o.oriented(b.1))
                    .then(b.0.cmp(&a.0))
            });
        if let Some((i, v)) = best {
            kv(
                &format!("best {}", o.metric),
                format!(
                    "{} (trial #{}: {})",
                    num(v),
                    trials[i].number,
                    esc(&trials[i].description)
                ),
            );
        }
    }
    kv(
        "configuration",
        format!("<code>{}</code>", esc(&info.config)),
    );
    html.push_str("</table></section>\n");

    // Pareto front.
    if m >= 2 {
        html.push_str("<section id=\"pareto\"><h2>Pareto front</h2>\n");
        let pairs: Vec<(usize, usize)> = if m == 2 {
            vec![(0, 1)]
        } else {
            (0..m)
                .flat_map(|i| (i + 1..m).map(move |j| (i, j)))
                .collect()
        };
        for (a, b) in pairs {
            let pick = |i: usize| values[i].as_ref().map(|v| (v[a], v[b]));
            let others: Vec<(f64, f64)> = (0..trials.len())
                .filter(|i| !on_front.contains(i))
                .filter_map(pick)
                .collect();
            let front: Vec<(f64, f64)> = p.front.iter().filter_map(|&i| pick(i)).collect();
            let (xl, yl) = (
                format!("{} ({})", objs[a].metric, dir(objs[a].direction)),
                format!("{} ({})", objs[b].metric, dir(objs[b].direction)),
            );
            let title = if m == 2 {
                "Pareto front".to_string()
            } else {
                format!("{} vs {}", objs[a].metric, objs[b].metric)
            };
            let svg = FrontPlot {
                title: &title,
                x_label: &xl,
                y_label: &yl,
                others: &others,
                front: &front,
                maximise: (
                    objs[a].direction == Direction::Max,
                    objs[b].direction == Direction::Max,
                ),
                staircase: m == 2,
                reference: p
                    .reference
                    .first()
                    .map(|_| (p.reference[a], p.reference[b]))
                    .filter(|r| r.0.is_finite() && r.1.is_finite()),
                view: if p.reference_given {
                    focus(&values, objs, &p.reference, a, b)
                } else {
                    None
                },
            }
            .svg()?;
            figure(
                &mut html,
                &if m == 2 {
                    "plot-front".to_string()
                } else {
                    format!("plot-front-{a}-{b}")
                },
                &svg,
            );
        }
        if m > 2 {
            html.push_str("<p class=\"note\">Projections of the front onto each pair of objectives; blue points are non-dominated in all objectives.</p>\n");
        }
        html.push_str("</section>\n");
    }

    // Anytime curves.
    html.push_str("<section id=\"anytime\"><h2>Hypervolume and best so far</h2>\n");
    let sim_total: f64 = trials
        .iter()
        .map(|t| t.sim_seconds)
        .filter(|s| s.is_finite())
        .sum();
    let (time_label, time_of): (&str, fn(&Trial) -> f64) = if sim_total > 0.0 {
        ("simulated seconds", |t| {
            if t.sim_seconds.is_finite() {
                t.sim_seconds
            } else {
                0.0
            }
        })
    } else {
        (
            "evaluation wall-clock seconds (no simulated clock recorded)",
            |t| {
                if t.wall_seconds.is_finite() {
                    t.wall_seconds
                } else {
                    0.0
                }
            },
        )
    };
    let mut clock = 0.0;
    let times: Vec<f64> = trials
        .iter()
        .map(|t| {
            clock += time_of(t);
            clock
        })
        .collect();
    let numbers: Vec<f64> = trials.iter().map(|t| t.number as f64).collect();
    if m >= 2 && p.reference.iter().all(|r| r.is_finite()) {
        let hv = hypervolume_over_trials(trials, objs, &p.reference);
        let by_trial: Vec<(f64, f64)> = numbers.iter().copied().zip(hv.iter().copied()).collect();
        let by_time: Vec<(f64, f64)> = times.iter().copied().zip(hv.iter().copied()).collect();
        figure(
            &mut html,
            "plot-hv-trials",
            &lines(
                "Hypervolume over trials",
                "trial",
                "hypervolume",
                &[("hypervolume", by_trial)],
                true,
            )?,
        );
        figure(
            &mut html,
            "plot-hv-time",
            &lines(
                "Hypervolume over time",
                time_label,
                "hypervolume",
                &[("hypervolume", by_time)],
                true,
            )?,
        );
    }
    for (k, (o, best)) in objs.iter().zip(best_so_far(trials, objs)).enumerate() {
        let y = format!("best {} ({})", o.metric, dir(o.direction));
        let by_trial: Vec<(f64, f64)> = numbers.iter().copied().zip(best.iter().copied()).collect();
        let by_time: Vec<(f64, f64)> = times.iter().copied().zip(best.iter().copied()).collect();
        figure(
            &mut html,
            &format!("plot-best-{k}-trials"),
            &lines(
                &format!("Best {} over trials", o.metric),
                "trial",
                &y,
                &[(&o.metric, by_trial)],
                true,
            )?,
        );
        figure(
            &mut html,
            &format!("plot-best-{k}-time"),
            &lines(
                &format!("Best {} over time", o.metric),
                time_label,
                &y,
                &[(&o.metric, by_time)],
                true,
            )?,
        );
    }
    html.push_str("</section>\n");

    // Per choice.
    let dims = dims_of(&spec, trials);
    if !dims.is_empty() {
        let metric = &objs[0].metric;
        let _ = write!(
            html,
            "<section id=\"choices\"><h2>{} per choice</h2>\n<div class=\"grid\">\n",
            esc(metric)
        );
        for (d, (name, choices)) in dims.iter().enumerate() {
            let pts: Vec<(usize, f64, bool)> = trials
                .iter()
                .enumerate()
                .filter_map(|(i, t)| {
                    let v = values[i].as_ref()?[0];
                    let c = *t.sample.as_slice().get(d)? as usize;
                    (c < choices.len()).then_some((c, v, on_front.contains(&i)))
                })
                .collect();
            let svg = per_choice(name, choices, metric, &pts)?;
            figure(&mut html, &format!("plot-choice-{d}"), &svg);
        }
        html.push_str("</div>\n<p class=\"note\">Each dot is a complete trial (blue: non-dominated); black bars are the mean per choice.</p>\n</section>\n");
    }

    // Trial table.
    let mut extra: Vec<&'static str> = Vec::new();
    for t in trials {
        for n in t.metrics.names().chain(t.profile.names()) {
            if !objs.iter().any(|o| o.metric == n) && !extra.contains(&n) {
                extra.push(n);
            }
        }
    }
    html.push_str("<section id=\"trials\"><h2>Trials</h2>\n<table class=\"trials\"><thead><tr><th>#</th><th>state</th>");
    for o in objs {
        let _ = write!(html, "<th>{} ({})</th>", esc(&o.metric), dir(o.direction));
    }
    for n in &extra {
        let _ = write!(html, "<th>{}</th>", esc(n));
    }
    html.push_str("<th>architecture</th><th>error</th></tr></thead>\n<tbody>\n");
    for (i, t) in trials.iter().enumerate() {
        let front = on_front.contains(&i);
        let _ = write!(
            html,
            "<tr class=\"{}{}\"><td>{}{}</td><td>{}</td>",
            t.state,
            if front { " front" } else { "" },
            t.number,
            if front { " ★" } else { "" },
            t.state
        );
        for o in objs {
            let _ = write!(
                html,
                "<td>{}</td>",
                t.get(&o.metric).map(num).unwrap_or_default()
            );
        }
        for n in &extra {
            let _ = write!(html, "<td>{}</td>", t.get(n).map(num).unwrap_or_default());
        }
        let _ = writeln!(
            html,
            "<td class=\"arch\">{}</td><td>{}</td></tr>",
            esc(&t.description),
            esc(t.error.as_deref().unwrap_or(""))
        );
    }
    html.push_str("</tbody></table>\n<p class=\"note\">★ non-dominated (complete trials only); infeasible trials rejected before evaluation have no metrics.</p>\n</section>\n");
    let _ = write!(
        html,
        "<footer>Generated by tessera-report {}.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    Ok(html)
}

const STYLE: &str = "body{font-family:sans-serif;margin:24px;color:#222;max-width:1300px}\
h1{font-size:24px}h2{font-size:19px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}\
figure.plot{display:inline-block;margin:6px;border:1px solid #c8d1dc}figure.plot svg{display:block}\
.grid{display:flex;flex-wrap:wrap}table{border-collapse:collapse;font-size:13px}\
td,th{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}\
table.kv th{background:#f6f6f6;white-space:nowrap}table.kv code{font-size:11px;word-break:break-all}\
table.trials tr.front{background:#eaf2fb}table.trials tr.infeasible,table.trials tr.failed{color:#999}\
td.arch{font-family:monospace;font-size:12px}.note{color:#666;font-size:13px}footer{margin-top:30px;color:#888;font-size:12px}";
