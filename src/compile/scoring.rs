//! What scoring ends in besides the rules: the grade's bands and matrix, and the endings by stage or knockout.

use super::*;

impl Compiler<'_> {
    pub(super) fn bands(&mut self, bands: &[model::Band], pointer: &str) -> Vec<BandDef> {
        self.limit(bands.len(), MAX_BANDS, pointer, "bands");
        if bands.is_empty() {
            self.err(Code::Value, pointer, "at least one band is needed");
        }
        let mut prev = f64::INFINITY;
        for (i, b) in bands.iter().enumerate() {
            let last = i + 1 == bands.len();
            match (b.min, last) {
                (Some(_), true) => self.err(
                    Code::Value,
                    format!("{pointer}/{i}/min"),
                    "the last band has no `min`: it takes every score below the others",
                ),
                (None, false) => self.err(Code::Value, format!("{pointer}/{i}"), "only the last band may lack `min`"),
                (Some(m), false) => {
                    if m >= prev {
                        self.err(
                            Code::Value,
                            format!("{pointer}/{i}/min"),
                            "bands go from the highest `min` to the lowest",
                        );
                    }
                    prev = m;
                }
                _ => {}
            }
        }
        for (i, b) in bands.iter().enumerate() {
            // The form controller sends an evaluation without a grade as an empty grade (`Claim::grade`).
            if b.label.is_empty() {
                self.err(Code::Value, format!("{pointer}/{i}/label"), "a band's label cannot be empty");
            }
        }
        bands.iter().map(|b| BandDef { label: b.label.clone(), min: b.min }).collect()
    }

    pub(super) fn group_ref(&mut self, id: &str, pointer: &str) -> u32 {
        match self.names.syms.get(id) {
            Some(Sym::Group(g)) => *g,
            _ => {
                self.err(Code::UnknownName, pointer, format!("`{id}` is not a group"));
                0
            }
        }
    }

    pub(super) fn grade(&mut self, doc: &Document) {
        let Some(g) = &doc.grade else { return };
        let group = self.group_ref(&g.group, "/grade/group");
        let bands = self.bands(&g.bands, "/grade/bands");
        let matrix = g.matrix.as_ref().map(|m| {
            let mg = self.group_ref(&m.group, "/grade/matrix/group");
            (mg, self.bands(&m.bands, "/grade/matrix/bands"))
        });
        self.b.p.grade = Some(GradeDef { group, bands, matrix });
    }

    pub(super) fn endings(&mut self, doc: &Document, stage_ids: &HashMap<String, String>) {
        let Some(e) = &doc.endings else { return };
        let reasons: Vec<&str> = doc.knockouts.iter().map(|k| k.reason.as_str()).collect();
        for (stage, ending) in &e.stages {
            let p = format!("/endings/stages/{}", escape_pointer(stage));
            if !stage_ids.contains_key(stage) {
                self.err(Code::UnknownName, p.clone(), format!("`{stage}` is not a stage"));
            }
            self.ending(ending, &p);
        }
        for (reason, ending) in &e.knockouts {
            let p = format!("/endings/knockouts/{}", escape_pointer(reason));
            if !reasons.contains(&reason.as_str()) {
                self.err(Code::UnknownName, p.clone(), format!("no knockout has the reason `{reason}`"));
            }
            self.ending(ending, &p);
        }
        if let Some(d) = &e.default {
            self.ending(d, "/endings/default");
        }
    }

    pub(super) fn ending(&mut self, e: &model::Ending, pointer: &str) {
        let Some(a) = &e.action else { return };
        let url = a.url.escape_debug();
        let pointer = format!("{pointer}/action/url");
        // A placeholder that names no field is named; any other problem is the link's.
        let is_field = |n: &str| matches!(self.names.syms.get(n), Some(Sym::Field(_)));
        let unknown: Vec<String> =
            placeholders(&a.url).unwrap_or_default().into_iter().filter(|n| !is_field(n)).map(String::from).collect();
        if !unknown.is_empty() {
            for n in unknown {
                self.err(Code::UnknownName, pointer.clone(), format!("`{{{n}}}` in `{url}` names no field: a placeholder is filled with the answer to the field it names"));
            }
        } else if let Some(problem) = action_problem(&a.url, is_field) {
            self.err(
                Code::Value,
                pointer,
                format!(
                    "`{url}` is not an allowed link: {problem}. Use an https:, http: or mailto: URL, or a path on \
                     the page's own site; placeholders such as `{{email}}` in its path, query or fragment"
                ),
            );
        }
    }
}
