//! The `[intel]` keys: exploitability feeds read from files at start and every `intel.reload_every` (default 24h,
//! at least a minute) — `intel.kev_file` (CISA's KEV catalog JSON) and `intel.epss_file` (FIRST's EPSS CSV). A file
//! that is missing at start is refused then, naming its key.

use super::{ConfigError, Reader};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct IntelConfig {
    pub kev_file: Option<PathBuf>,
    pub epss_file: Option<PathBuf>,
    pub reload_every: Duration,
}

impl IntelConfig {
    pub fn configured(&self) -> bool {
        self.kev_file.is_some() || self.epss_file.is_some()
    }

    pub(super) fn read(r: &Reader) -> Result<IntelConfig, ConfigError> {
        let file = |key: &str| -> Result<Option<PathBuf>, ConfigError> {
            match r.string(key)?.filter(|s| !s.trim().is_empty()) {
                None => Ok(None),
                Some(p) => {
                    let p = PathBuf::from(p.trim());
                    if p.is_file() {
                        Ok(Some(p))
                    } else {
                        Err(r.err(key, "names no readable file"))
                    }
                }
            }
        };
        let reload_every = r
            .duration("intel.reload_every")?
            .unwrap_or(Duration::from_secs(24 * 3600));
        if reload_every < Duration::from_secs(60) {
            return Err(r.err("intel.reload_every", "must be at least 1m"));
        }
        Ok(IntelConfig {
            kev_file: file("intel.kev_file")?,
            epss_file: file("intel.epss_file")?,
            reload_every,
        })
    }
}
