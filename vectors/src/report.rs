//! What a verification run found: how many values were checked and which differed.

/// One value that differs from the vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The JSON path of the expected value (or the step that failed).
    pub field: String,
    /// The value in the vector.
    pub expected: String,
    /// The value this implementation produced.
    pub actual: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: expected {}, got {}", self.field, self.expected, self.actual)
    }
}

/// The outcome of verifying one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The file (or a label).
    pub source: String,
    /// The vector schema.
    pub schema: String,
    /// Values compared.
    pub checks: usize,
    /// Values that differed.
    pub mismatches: Vec<Mismatch>,
    /// Sections this verifier does not check yet, said out loud rather than passed silently.
    pub skipped: Vec<String>,
}

impl Report {
    /// A report for `source` of `schema`.
    pub fn new(source: impl Into<String>, schema: impl Into<String>) -> Self {
        Self { source: source.into(), schema: schema.into(), ..Self::default() }
    }

    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }

    /// Compares bytes, reported as hex.
    pub fn bytes(&mut self, field: impl Into<String>, expected: &[u8], actual: &[u8]) {
        self.checks += 1;
        if expected != actual {
            self.fail(field, hex::encode(expected), hex::encode(actual));
        }
    }

    /// Compares displayable values.
    pub fn value<T: PartialEq + std::fmt::Debug>(&mut self, field: impl Into<String>, expected: T, actual: T) {
        self.checks += 1;
        if expected != actual {
            self.fail(field, format!("{expected:?}"), format!("{actual:?}"));
        }
    }

    /// Records that a step this implementation should have completed failed instead.
    pub fn step_failed(&mut self, field: impl Into<String>, error: impl std::fmt::Display) {
        self.checks += 1;
        self.fail(field, "success".to_owned(), format!("error: {error}"));
    }

    /// Records a section left unchecked.
    pub fn skip(&mut self, section: impl Into<String>) {
        self.skipped.push(section.into());
    }

    /// Records a mismatch.
    pub fn fail(&mut self, field: impl Into<String>, expected: String, actual: String) {
        self.mismatches.push(Mismatch { field: field.into(), expected, actual });
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.passed() { "ok" } else { "FAILED" };
        writeln!(
            f,
            "{verdict}: {} ({}, {} checks, {} mismatches)",
            self.source,
            self.schema,
            self.checks,
            self.mismatches.len()
        )?;
        for s in &self.skipped {
            writeln!(f, "  skipped: {s}")?;
        }
        for m in &self.mismatches {
            writeln!(f, "  {m}")?;
        }
        Ok(())
    }
}
