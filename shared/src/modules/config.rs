//! (being written)

/// A template's module config, typed. (Placeholder until the engines land.)
#[derive(Debug, Clone)]
pub enum ModuleConfig {}
