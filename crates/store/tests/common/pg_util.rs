// Shared by the PostgreSQL tests (included with `include!`): fresh schemas in the database named by
// `TESSERA_TEST_POSTGRES`, dropped on drop.

#[allow(dead_code)]
pub struct Schemas {
    pub base: String,
    pub names: Vec<String>,
    prefix: String,
}

#[allow(dead_code)]
impl Schemas {
    /// `None` (after printing why) when `TESSERA_TEST_POSTGRES` is unset.
    pub fn from_env(what: &str) -> Option<Schemas> {
        match std::env::var("TESSERA_TEST_POSTGRES") {
            Ok(u) if !u.trim().is_empty() => {
                let nonce: u32 = rand::random();
                Some(Schemas {
                    base: u.trim().to_string(),
                    names: Vec::new(),
                    prefix: format!("t_{what}_{}_{nonce:08x}", std::process::id()),
                })
            }
            _ => {
                eprintln!("skipped: TESSERA_TEST_POSTGRES not set");
                None
            }
        }
    }

    /// A URL for a new, not yet existing schema.
    pub fn fresh(&mut self) -> String {
        let name = format!("{}_{}", self.prefix, self.names.len());
        self.names.push(name.clone());
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}schema={name}", self.base)
    }
}

impl Drop for Schemas {
    fn drop(&mut self) {
        if self.names.is_empty() {
            return;
        }
        if let Ok(mut c) = postgres::Client::connect(
            self.base.split('?').next().unwrap_or(&self.base),
            postgres::NoTls,
        ) {
            for n in &self.names {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{n}\" CASCADE"));
            }
        }
    }
}
