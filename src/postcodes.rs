//! Norway's postal codes in the store: the shipped list stored on first use, and Posten's
//! register file (`postcodes import`) replacing it. Reading them is [`pinbrev_core::postcodes`].

use std::path::{Path, PathBuf};

use serde::Serialize;

use pinbrev_core::postcodes::{parse_register, shipped, Postcodes, SHIPPED_SOURCE};

use crate::db::{Db, DbError};
use crate::input_error::InputError;

/// Loads the stored list, first storing the shipped list if none is loaded yet.
pub async fn load(db: &Db) -> Result<Postcodes, DbError> {
    let mut entries = db.postcodes().await?;
    if entries.is_empty() {
        let shipped = shipped();
        db.replace_postcodes(SHIPPED_SOURCE, &shipped).await?;
        tracing::info!(count = shipped.len(), "loaded the shipped postal-code list");
        entries = shipped;
    }
    Ok(Postcodes::from_entries(entries))
}

/// A register file that cannot be used as a whole.
#[derive(Debug, thiserror::Error)]
pub enum PostcodeFileError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: no usable postal-code rows ({errors} bad lines); the list was not replaced")]
    NoRows { file: PathBuf, errors: usize },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What `postcodes import` did.
#[derive(Debug, Serialize)]
pub struct PostcodeImport {
    pub loaded: usize,
    pub with_category: usize,
    pub line_errors: Vec<InputError>,
}

/// The largest register file read, in bytes. Posten's is about 5,100 lines, a quarter of a
/// megabyte; a larger file is no postal-code register, and is refused before it is held (a
/// file of 440 MB took 4.7 GB).
pub const MAX_FILE: u64 = 16 << 20;

/// Replaces the stored list with Posten's register file.
pub async fn import_file(db: &Db, file: &Path) -> Result<PostcodeImport, PostcodeFileError> {
    let bytes = crate::files::read_input_up_to(file, MAX_FILE).map_err(|source| {
        PostcodeFileError::Read {
            file: file.to_path_buf(),
            source,
        }
    })?;
    let name = file.display().to_string();
    let (entries, line_errors) = parse_register(&name, &bytes);
    if entries.is_empty() {
        return Err(PostcodeFileError::NoRows {
            file: file.to_path_buf(),
            errors: line_errors.len(),
        });
    }
    db.replace_postcodes(&name, &entries).await?;
    db.record_input_errors("postcodes", &line_errors).await?;
    Ok(PostcodeImport {
        loaded: entries.len(),
        with_category: entries.iter().filter(|e| e.category.is_some()).count(),
        line_errors,
    })
}
