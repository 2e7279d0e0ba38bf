//! [`ModelSummary`]: what `polytag validate` shows about a built model — per component its
//! kind, parameter count and the tasks that share it; per task the parameters it owns alone
//! (its gate); the total.

use std::fmt;

/// One component's line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentSummary {
    /// Config name.
    pub name: String,
    /// Kind (`char_cnn`, `lstm`, …).
    pub kind: &'static str,
    /// Number of scalar parameters (trainable or frozen).
    pub params: usize,
    /// Names of the tasks that use it (more than one = shared).
    pub tasks: Vec<String>,
}

/// One task head's line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeadSummary {
    /// Task name.
    pub task: String,
    /// Parameters owned by the task alone (its gate).
    pub params: usize,
}

/// Parameter counts of a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSummary {
    /// Components in config order.
    pub components: Vec<ComponentSummary>,
    /// Task heads in task order.
    pub heads: Vec<HeadSummary>,
    /// Sum of all parameters, each counted once.
    pub total_params: usize,
}

impl ModelSummary {
    /// Summary with the total computed.
    pub fn new(components: Vec<ComponentSummary>, heads: Vec<HeadSummary>) -> Self {
        let total_params = components.iter().map(|c| c.params).sum::<usize>()
            + heads.iter().map(|h| h.params).sum::<usize>();
        Self {
            components,
            heads,
            total_params,
        }
    }
}

impl fmt::Display for ModelSummary {
    /// A plain-text table:
    ///
    /// ```text
    /// component        kind       parameters  tasks
    /// char_embed       char_cnn        9,260  Dutch NER, English NER
    /// ...
    /// task head        gate       parameters
    /// Dutch NER        gate            5,831
    /// total parameters               123,456
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name_w = self
            .components
            .iter()
            .map(|c| c.name.chars().count())
            .chain(self.heads.iter().map(|h| h.task.chars().count()))
            .chain([16])
            .max()
            .unwrap_or(16);
        let kind_w = self
            .components
            .iter()
            .map(|c| c.kind.len())
            .chain([9])
            .max()
            .unwrap_or(9);
        writeln!(
            f,
            "{:<name_w$}  {:<kind_w$}  {:>12}  tasks",
            "component", "kind", "parameters"
        )?;
        for c in &self.components {
            let tasks = if c.tasks.is_empty() {
                "(unused)".to_string()
            } else {
                c.tasks.join(", ")
            };
            writeln!(
                f,
                "{:<name_w$}  {:<kind_w$}  {:>12}  {tasks}",
                c.name,
                c.kind,
                thousands(c.params)
            )?;
        }
        if !self.heads.is_empty() {
            writeln!(
                f,
                "{:<name_w$}  {:<kind_w$}  {:>12}",
                "task head", "", "parameters"
            )?;
            for h in &self.heads {
                let what = if h.params > 0 { "gate" } else { "-" };
                writeln!(
                    f,
                    "{:<name_w$}  {:<kind_w$}  {:>12}",
                    h.task,
                    what,
                    thousands(h.params)
                )?;
            }
        }
        write!(
            f,
            "{:<w$}  {:>12}",
            "total parameters",
            thousands(self.total_params),
            w = name_w + 2 + kind_w
        )
    }
}

/// `1234567` → `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let first = match digits.len() % 3 {
        0 => 3,
        r => r,
    };
    let mut out = digits[..first].to_string();
    let mut rest = &digits[first..];
    while !rest.is_empty() {
        out.push(',');
        out.push_str(&rest[..3]);
        rest = &rest[3..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lists_components_heads_and_total() {
        let s = ModelSummary::new(
            vec![
                ComponentSummary {
                    name: "lstm".into(),
                    kind: "lstm",
                    params: 1_234_567,
                    tasks: vec!["ner".into(), "pos".into()],
                },
                ComponentSummary {
                    name: "spare".into(),
                    kind: "linear",
                    params: 10,
                    tasks: vec![],
                },
            ],
            vec![HeadSummary {
                task: "ner".into(),
                params: 33,
            }],
        );
        assert_eq!(s.total_params, 1_234_610);
        let text = s.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6);
        assert_eq!(
            lines[1],
            "lstm              lstm          1,234,567  ner, pos"
        );
        assert!(lines[2].ends_with("(unused)"));
        assert_eq!(lines[4], "ner               gate                 33");
        assert_eq!(lines[5], "total parameters                1,234,610");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
    }
}
