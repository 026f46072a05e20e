//! Results for people: `mirun table` (grouped means), `mirun diff` (two result sets side by
//! side, with `--fail-if` conditions for CI) and `mirun plot` (curves, confusion, image grids),
//! all reading what `store` wrote.

pub mod collect;
pub mod diff;
pub mod plot;
pub mod table;
