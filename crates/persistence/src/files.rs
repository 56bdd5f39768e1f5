//! Files kept in the database: the spreadsheet an import job reads and the file an export
//! job produces. They are stored here rather than on a local disk because several server
//! processes may share one database and any of them may run the job or serve the download.
//!
//! A file is a `stored_files` row plus its bytes in numbered `stored_file_chunks` of at
//! most [`CHUNK_BYTES`], so no single row (or bind parameter) has to hold a whole file and
//! a download can be streamed chunk by chunk. A file is written front to back with
//! [`FileWriter`] and only counts as present once [`FileWriter::finish`] has set its size,
//! digest and `completed_at`: a writer that dies half-way leaves a file nobody can read.
//!
//! A file that holds customers (an export) lists them in `stored_file_customers`
//! ([`record_customers`]) before their rows are written, so that an erasure
//! finds every file, finished or not, with the customer in it ([`containing_customers`])
//! and deletes it in the erasure's own transaction: the bytes live in the database, so
//! once the erasure commits no copy can be downloaded and none is left to clean up.

use std::collections::HashSet;
use std::io;
use std::ops::DerefMut;

use diesel::prelude::*;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{stored_file_chunks, stored_file_customers, stored_files};
use crate::sql_types::{DbTime, DbUuid};
use crate::PersistenceError;

/// Largest chunk: big enough that a 100 MB file is a hundred rows, small enough for any
/// driver to bind comfortably.
pub const CHUNK_BYTES: usize = 1024 * 1024;

/// `purpose` of an uploaded import file.
pub const IMPORT_UPLOAD: &str = "import_upload";
/// `purpose` of a file produced by an export.
pub const EXPORT_RESULT: &str = "export_result";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = stored_files)]
pub struct StoredFile {
    pub id: DbUuid,
    pub purpose: String,
    /// The name offered to people: the upload's own name, or the download's.
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the content; set when the file is complete.
    pub sha256: Option<String>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub completed_at: Option<DbTime>,
}

/// What describes a file about to be written.
#[derive(Debug, Clone)]
pub struct NewFile<'a> {
    pub purpose: &'a str,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub created_by: Option<Uuid>,
}

/// Writes a file's bytes to the database as they come (`std::io::Write`), one chunk row
/// per [`CHUNK_BYTES`], through its own connection `C` (a pooled connection, or `&mut` a
/// connection inside the caller's transaction).
pub struct FileWriter<C: DerefMut<Target = DbConnection>> {
    conn: C,
    id: Uuid,
    buffer: Vec<u8>,
    next_seq: i32,
    size: i64,
    digest: Sha256,
}

impl<C: DerefMut<Target = DbConnection>> FileWriter<C> {
    /// Records the file as incomplete and returns a writer for its content.
    pub fn create(mut conn: C, new: NewFile<'_>) -> Result<Self, PersistenceError> {
        let id = Uuid::now_v7();
        let row = StoredFile {
            id: DbUuid(id),
            purpose: new.purpose.to_string(),
            file_name: new.file_name.to_string(),
            content_type: new.content_type.to_string(),
            size_bytes: 0,
            sha256: None,
            created_by: new.created_by.map(DbUuid),
            created_at: DbTime(crate::now()),
            completed_at: None,
        };
        diesel::insert_into(stored_files::table)
            .values(&row)
            .execute(&mut *conn)?;
        Ok(FileWriter {
            conn,
            id,
            buffer: Vec::with_capacity(CHUNK_BYTES),
            next_seq: 0,
            size: 0,
            digest: Sha256::new(),
        })
    }

    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Adds `bytes` to the file, writing every chunk that fills up.
    pub fn append(&mut self, mut bytes: &[u8]) -> Result<(), PersistenceError> {
        while !bytes.is_empty() {
            let taken = bytes.len().min(CHUNK_BYTES - self.buffer.len());
            self.buffer.extend_from_slice(&bytes[..taken]);
            self.digest.update(&bytes[..taken]);
            self.size += taken as i64;
            if self.buffer.len() == CHUNK_BYTES {
                self.flush_chunk()?;
            }
            bytes = &bytes[taken..];
        }
        Ok(())
    }

    fn flush_chunk(&mut self) -> Result<(), PersistenceError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        diesel::insert_into(stored_file_chunks::table)
            .values((
                stored_file_chunks::file_id.eq(DbUuid(self.id)),
                stored_file_chunks::seq.eq(self.next_seq),
                stored_file_chunks::data.eq(self.buffer.as_slice()),
            ))
            .execute(&mut *self.conn)?;
        self.next_seq += 1;
        self.buffer.clear();
        Ok(())
    }

    /// Writes the last chunk and marks the file complete.
    pub fn finish(mut self) -> Result<StoredFile, PersistenceError> {
        self.flush_chunk()?;
        let sha256 = hex::encode(std::mem::take(&mut self.digest).finalize());
        let id = DbUuid(self.id);
        diesel::update(stored_files::table.find(id))
            .set((
                stored_files::size_bytes.eq(self.size),
                stored_files::sha256.eq(Some(sha256)),
                stored_files::completed_at.eq(Some(DbTime(crate::now()))),
            ))
            .execute(&mut *self.conn)?;
        find(&mut self.conn, self.id)
    }
}

impl<C: DerefMut<Target = DbConnection>> io::Write for FileWriter<C> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.append(bytes).map_err(io::Error::other)?;
        Ok(bytes.len())
    }

    /// Chunks are written when full or at [`FileWriter::finish`]; a short chunk in the
    /// middle would only cost a row, but there is no reason to make one.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Stores `bytes` as one complete file (an upload already in memory).
pub fn store(
    conn: &mut DbConnection,
    new: NewFile<'_>,
    bytes: &[u8],
) -> Result<StoredFile, PersistenceError> {
    let mut writer = FileWriter::create(conn, new)?;
    writer.append(bytes)?;
    writer.finish()
}

/// The complete file `id`; [`PersistenceError::NotFound`] for a missing or unfinished one.
pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<StoredFile, PersistenceError> {
    stored_files::table
        .find(DbUuid(id))
        .filter(stored_files::completed_at.is_not_null())
        .select(StoredFile::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

/// Chunk `seq` (0-based) of file `id`, or `None` past the last one.
pub fn chunk(
    conn: &mut DbConnection,
    id: Uuid,
    seq: i32,
) -> Result<Option<Vec<u8>>, PersistenceError> {
    Ok(stored_file_chunks::table
        .find((DbUuid(id), seq))
        .select(stored_file_chunks::data)
        .first(conn)
        .optional()?)
}

/// The whole content of the complete file `id`, checked against its recorded size.
pub fn read_all(conn: &mut DbConnection, id: Uuid) -> Result<Vec<u8>, PersistenceError> {
    let file = find(conn, id)?;
    let chunks: Vec<Vec<u8>> = stored_file_chunks::table
        .filter(stored_file_chunks::file_id.eq(DbUuid(id)))
        .order(stored_file_chunks::seq)
        .select(stored_file_chunks::data)
        .load(conn)?;
    let content = chunks.concat();
    if content.len() as i64 != file.size_bytes {
        return Err(PersistenceError::Corrupt(format!(
            "file {id} has {} bytes stored but {} recorded",
            content.len(),
            file.size_bytes
        )));
    }
    Ok(content)
}

/// Deletes file `id` and its chunks; a missing file is not an error (deletion is
/// cleanup, and may run twice).
pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    diesel::delete(stored_files::table.find(DbUuid(id))).execute(conn)?;
    Ok(())
}

/// Records that file `id` is about to hold `customers`. Call it, committed, before their
/// rows are written: an erasure that commits after this finds the file. Customers the
/// file already holds are skipped: a file of orders meets a customer again on later
/// pages.
pub fn record_customers(
    conn: &mut DbConnection,
    id: Uuid,
    customers: &[Uuid],
) -> Result<(), PersistenceError> {
    let mut held: HashSet<Uuid> = HashSet::new();
    for chunk in customers.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        let found: Vec<DbUuid> = stored_file_customers::table
            .filter(stored_file_customers::file_id.eq(DbUuid(id)))
            .filter(stored_file_customers::customer_id.eq_any(chunk))
            .select(stored_file_customers::customer_id)
            .load(conn)?;
        held.extend(found.into_iter().map(|customer| customer.0));
    }
    let rows: Vec<_> = customers
        .iter()
        .filter(|customer| !held.contains(customer))
        .map(|customer| {
            (
                stored_file_customers::file_id.eq(DbUuid(id)),
                stored_file_customers::customer_id.eq(DbUuid(*customer)),
            )
        })
        .collect();
    // Two columns per row keeps a chunk far below SQLite's bound-value limit.
    for chunk in rows.chunks(5_000) {
        crate::insert_batch!(conn, stored_file_customers::table, chunk)?;
    }
    Ok(())
}

/// Files, finished or not, that hold one of `customers`.
pub fn containing_customers(
    conn: &mut DbConnection,
    customers: &[Uuid],
) -> Result<Vec<Uuid>, PersistenceError> {
    let mut files: Vec<Uuid> = Vec::new();
    for chunk in customers.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        let found: Vec<DbUuid> = stored_file_customers::table
            .filter(stored_file_customers::customer_id.eq_any(chunk))
            .select(stored_file_customers::file_id)
            .distinct()
            .load(conn)?;
        files.extend(found.into_iter().map(|id| id.0));
    }
    files.sort_unstable();
    files.dedup();
    Ok(files)
}

/// Deletes the files `ids` with their chunks; returns how many there were.
pub fn delete_many(conn: &mut DbConnection, ids: &[Uuid]) -> Result<usize, PersistenceError> {
    let mut deleted = 0;
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        deleted += diesel::delete(stored_files::table.filter(stored_files::id.eq_any(chunk)))
            .execute(conn)?;
    }
    Ok(deleted)
}
