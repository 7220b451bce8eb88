//! The connection layer under every query: one API over SQLite (rusqlite) and PostgreSQL
//! (rust-postgres), so the store's SQL is written once.
//!
//! - SQL is written in SQLite's dialect with numbered `?1` (or bare `?`) placeholders; for
//!   PostgreSQL each statement is translated once to `$1` placeholders and prepared once (both
//!   cached by the statement's text). The few statements that differ per dialect ask
//!   [`Conn::is_postgres`].
//! - Parameters are borrowed [`Value`]s: SQLite binds text and blobs without copying them (the
//!   ingest path writes every stored file through here).
//! - A row is read by column index into typed values ([`FromDb`]); PostgreSQL's stricter types
//!   are bridged here (`BIGINT`/`INTEGER`/`BOOLEAN` all read as integers), the SQL casts where
//!   a type would otherwise differ (e.g. `SUM` of `BIGINT` is `NUMERIC` there).
//! - Answers must not depend on the dialect: every ORDER BY on a nullable column says where
//!   NULL goes (`NULLS FIRST`/`NULLS LAST`; SQLite puts NULL first ascending, PostgreSQL last),
//!   and PostgreSQL's text columns collate by bytes (`COLLATE "C"`, its baseline migration).
//! - A write transaction takes the database's write lock first: SQLite's `BEGIN IMMEDIATE`, and
//!   on PostgreSQL `BEGIN` plus a transaction-scoped advisory lock keyed by
//!   [`super::APPLICATION_ID`], so writers serialize the same way on both and the store's
//!   read-then-write code stays correct.

use std::cell::RefCell;
use std::collections::HashMap;

use rusqlite::types::{ToSqlOutput, ValueRef};

/// A query parameter, borrowed from the caller.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// Anything that can be a query parameter.
pub(crate) trait ToValue {
    fn to_value(&self) -> Value<'_>;
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value<'_> {
        (**self).to_value()
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value<'_> {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value<'_> {
        Value::Text(self)
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value<'_> {
        Value::Text(self)
    }
}
impl ToValue for std::borrow::Cow<'_, str> {
    fn to_value(&self) -> Value<'_> {
        Value::Text(self)
    }
}
impl ToValue for [u8] {
    fn to_value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}
impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}
impl ToValue for f64 {
    fn to_value(&self) -> Value<'_> {
        Value::Real(*self)
    }
}
impl ToValue for bool {
    fn to_value(&self) -> Value<'_> {
        Value::Int(*self as i64)
    }
}
macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value<'_> {
                Value::Int(*self as i64)
            }
        }
    )*};
}
int_value!(i64, i32, u32, u16, u8, i8, i16);

/// `params![a, b]`: borrowed [`Value`]s for a query.
macro_rules! params {
    () => {
        &[] as &[$crate::store::db::Value<'_>]
    };
    ($($x:expr),+ $(,)?) => {
        &[$($crate::store::db::ToValue::to_value(&$x)),+] as &[$crate::store::db::Value<'_>]
    };
}
pub(crate) use params;

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(i),
            Value::Real(f) => ValueRef::Real(f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

impl postgres::types::ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::{IsNull, Type};
        // The statement decides the parameter's type (PostgreSQL infers it from the SQL); a
        // value is converted to it the way SQLite would compare it. A value that has no such
        // conversion is a type error: written as it is, its bytes would be read as another
        // type's (text bytes as an 8-byte integer).
        let text = |t: &Type| matches!(*t, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME);
        match (*self, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(i), t) if *t == Type::BOOL => (i != 0).to_sql(ty, out),
            (Value::Int(i), t) if *t == Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
            (Value::Int(i), t) if *t == Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
            (Value::Int(i), t) if *t == Type::INT8 => i.to_sql(ty, out),
            (Value::Int(i), t) if *t == Type::FLOAT8 => (i as f64).to_sql(ty, out),
            (Value::Int(i), t) if *t == Type::FLOAT4 => (i as f32).to_sql(ty, out),
            (Value::Int(i), t) if text(t) => i.to_string().to_sql(ty, out),
            (Value::Real(f), t) if *t == Type::FLOAT4 => (f as f32).to_sql(ty, out),
            (Value::Real(f), t) if *t == Type::FLOAT8 => f.to_sql(ty, out),
            // PostgreSQL's text cannot hold U+0000, which a hostile report can put in any
            // string (`"procName":"Py\u0000thon"`): stored as U+FFFD, not refused (SQLite
            // keeps it as is; rounds.rs `as_stored` compares the same way).
            (Value::Text(s), t) if text(t) => pg_text(s).to_sql(ty, out),
            (Value::Blob(b), t) if *t == Type::BYTEA => b.to_sql(ty, out),
            (v, t) => Err(format!(
                "a {} value cannot be a {t} parameter",
                match v {
                    Value::Null => "NULL",
                    Value::Int(_) => "integer",
                    Value::Real(_) => "real",
                    Value::Text(_) => "text",
                    Value::Blob(_) => "blob",
                }
            )
            .into()),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A database error of either dialect.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Pg(#[from] postgres::Error),
    /// `query_row` found no row.
    #[error("query returned no rows")]
    NoRows,
    /// A column did not hold the type asked for.
    #[error("column {0} holds {1}, not the type asked for")]
    Type(usize, String),
}

/// `.optional()`: a missing row as `None`, like rusqlite's `OptionalExtension`.
pub(crate) trait Optional<T> {
    fn optional(self) -> Result<Option<T>, DbError>;
}

impl<T> Optional<T> for Result<T, DbError> {
    fn optional(self) -> Result<Option<T>, DbError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(DbError::NoRows) | Err(DbError::Sqlite(rusqlite::Error::QueryReturnedNoRows)) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// One row of a result.
pub(crate) enum Row<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Pg(&'r postgres::Row),
}

impl Row<'_> {
    /// Column `idx` (from 0) as a `T`.
    pub(crate) fn get<T: FromDb>(&self, idx: usize) -> Result<T, DbError> {
        match self {
            Row::Sqlite(r) => T::from_sqlite(r, idx),
            Row::Pg(r) => T::from_pg(r, idx),
        }
    }
}

/// A value read from a column.
pub(crate) trait FromDb: Sized {
    fn from_sqlite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self, DbError>;
    fn from_pg(row: &postgres::Row, idx: usize) -> Result<Self, DbError>;
}

/// A PostgreSQL column read as an integer: every integer type, and booleans as 0/1 (SQLite's
/// comparisons are integers).
fn pg_int(row: &postgres::Row, idx: usize) -> Result<Option<i64>, DbError> {
    use postgres::types::Type;
    let ty = row
        .columns()
        .get(idx)
        .map(|c| c.type_().clone())
        .ok_or_else(|| DbError::Type(idx, "no such column".into()))?;
    Ok(match ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(idx)?,
        Type::INT4 => row.try_get::<_, Option<i32>>(idx)?.map(i64::from),
        Type::INT2 => row.try_get::<_, Option<i16>>(idx)?.map(i64::from),
        Type::BOOL => row.try_get::<_, Option<bool>>(idx)?.map(i64::from),
        other => return Err(DbError::Type(idx, other.to_string())),
    })
}

fn required<T>(v: Option<T>, idx: usize) -> Result<T, DbError> {
    v.ok_or_else(|| DbError::Type(idx, "NULL".into()))
}

macro_rules! from_db_int {
    ($($t:ty),*) => {$(
        impl FromDb for Option<$t> {
            fn from_sqlite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self, DbError> {
                Ok(row.get(idx)?)
            }
            fn from_pg(row: &postgres::Row, idx: usize) -> Result<Self, DbError> {
                pg_int(row, idx)?
                    .map(|i| <$t>::try_from(i).map_err(|_| DbError::Type(idx, format!("{i}"))))
                    .transpose()
            }
        }
        impl FromDb for $t {
            fn from_sqlite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self, DbError> {
                Ok(row.get(idx)?)
            }
            fn from_pg(row: &postgres::Row, idx: usize) -> Result<Self, DbError> {
                required(<Option<$t>>::from_pg(row, idx)?, idx)
            }
        }
    )*};
}
from_db_int!(i64, i32, u32);

impl FromDb for Option<bool> {
    fn from_sqlite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self, DbError> {
        Ok(row.get(idx)?)
    }
    fn from_pg(row: &postgres::Row, idx: usize) -> Result<Self, DbError> {
        Ok(pg_int(row, idx)?.map(|i| i != 0))
    }
}
impl FromDb for bool {
    fn from_sqlite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self, DbError> {
        Ok(row.get(idx)?)
    }
    fn from_pg(row: &postgres::Row, idx: usize) -> Result<Self, DbError> {
        required(<Option<bool>>::from_pg(row, idx)?, idx)
    }
}

impl FromDb for Option<f64> {
    fn from_sqlite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self, DbError> {
        Ok(row.get(idx)?)
    }
    fn from_pg(row: &postgres::Row, idx: usize) -> Result<Self, DbError> {
        use postgres::types::Type;
        match row.columns().get(idx).map(|c| c.type_()) {
            Some(&Type::FLOAT8) => Ok(row.try_get(idx)?),
            Some(&Type::FLOAT4) => Ok(row.try_get::<_, Option<f32>>(idx)?.map(f64::from)),
            _ => Ok(pg_int(row, idx)?.map(|i| i as f64)),
        }
    }
}
impl FromDb for f64 {
    fn from_sqlite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self, DbError> {
        Ok(row.get(idx)?)
    }
    fn from_pg(row: &postgres::Row, idx: usize) -> Result<Self, DbError> {
        required(<Option<f64>>::from_pg(row, idx)?, idx)
    }
}

macro_rules! from_db_plain {
    ($($t:ty),*) => {$(
        impl FromDb for Option<$t> {
            fn from_sqlite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self, DbError> {
                Ok(row.get(idx)?)
            }
            fn from_pg(row: &postgres::Row, idx: usize) -> Result<Self, DbError> {
                Ok(row.try_get(idx)?)
            }
        }
        impl FromDb for $t {
            fn from_sqlite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self, DbError> {
                Ok(row.get(idx)?)
            }
            fn from_pg(row: &postgres::Row, idx: usize) -> Result<Self, DbError> {
                required(row.try_get::<_, Option<$t>>(idx)?, idx)
            }
        }
    )*};
}
from_db_plain!(String, Vec<u8>);

/// A PostgreSQL connection with its statement caches. The client sits in a `RefCell`: the
/// store reads through `&self` like rusqlite does, and a `Store` is used by one thread.
pub(crate) struct PgConn {
    client: RefCell<postgres::Client>,
    statements: RefCell<HashMap<String, postgres::Statement>>,
}

/// The most statements a PostgreSQL connection keeps prepared; past it the cache is emptied
/// (filters build their SQL, so the set of texts is not fixed).
const PG_CACHE: usize = 256;

impl PgConn {
    pub(crate) fn new(client: postgres::Client) -> PgConn {
        PgConn {
            client: RefCell::new(client),
            statements: RefCell::new(HashMap::new()),
        }
    }

    fn statement(&self, sql: &str) -> Result<postgres::Statement, DbError> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let stmt = self.client.borrow_mut().prepare(&translate(sql))?;
        let mut cache = self.statements.borrow_mut();
        if cache.len() >= PG_CACHE {
            cache.clear();
        }
        cache.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }

    fn query(&self, sql: &str, params: &[Value<'_>]) -> Result<Vec<postgres::Row>, DbError> {
        let stmt = self.statement(sql)?;
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn postgres::types::ToSql + Sync))
            .collect();
        Ok(self.client.borrow_mut().query(&stmt, &refs)?)
    }

    pub(crate) fn batch(&self, sql: &str) -> Result<(), DbError> {
        Ok(self.client.borrow_mut().batch_execute(sql)?)
    }
}

/// `s` as PostgreSQL's text stores it: that text cannot hold U+0000, which a hostile report
/// can put in any string (`"procName":"Py\u0000thon"`), so it becomes U+FFFD (SQLite keeps
/// it). Binding and `rounds.rs`'s content check both go through here.
pub(crate) fn pg_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}").into()
    } else {
        s.into()
    }
}

/// SQLite's placeholders in PostgreSQL's form: `?1` becomes `$1`, and a bare `?` the number
/// one past the largest assigned so far (SQLite's rule: `?1, ?` is `$1, $2`, `?3, ?` is
/// `$3, $4`). Quoted text and identifiers (`'?'`, `"x?"`, `E'it\'s ?'` with its backslash
/// escapes) and comments (`-- it's`, `/* ? */`) are copied as they are.
pub(crate) fn translate(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut largest = 0usize;
    let mut chars = sql.chars().peekable();
    // The previous character copied outside quotes (to tell `E'..'` from `NAME'..'`).
    let mut prev: Option<char> = None;
    let mut prev2: Option<char> = None;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                // `E'..'` (not the end of an identifier like `TYPE'..'`): backslash escapes.
                let escapes = c == '\''
                    && matches!(prev, Some('E' | 'e'))
                    && !prev2.is_some_and(|p| p.is_alphanumeric() || p == '_');
                out.push(c);
                while let Some(d) = chars.next() {
                    out.push(d);
                    if escapes && d == '\\' {
                        if let Some(e) = chars.next() {
                            out.push(e);
                        }
                    } else if d == c {
                        // A doubled quote is one quote character inside the text.
                        if chars.peek() == Some(&c) {
                            out.push(c);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                out.push(c);
                out.push('*');
                chars.next();
                // PostgreSQL nests block comments; SQLite does not, but ours never nest.
                let mut last = ' ';
                for d in chars.by_ref() {
                    out.push(d);
                    if last == '*' && d == '/' {
                        break;
                    }
                    last = d;
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let n = match digits.parse::<usize>() {
                    Ok(n) => n,
                    Err(_) => largest + 1,
                };
                largest = largest.max(n);
                out.push('$');
                out.push_str(&n.to_string());
            }
            c => out.push(c),
        }
        prev2 = prev;
        prev = Some(c);
    }
    out
}

/// A connection of either dialect.
pub(crate) enum Conn {
    Sqlite(rusqlite::Connection),
    /// Boxed: a client is much larger than a rusqlite connection.
    Pg(Box<PgConn>),
}

impl Conn {
    /// Is this a PostgreSQL connection (for the few statements written per dialect)?
    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Conn::Pg(_))
    }

    /// The SQLite connection (tests of SQLite specifics).
    #[cfg(test)]
    pub(crate) fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Conn::Sqlite(c) => Some(c),
            Conn::Pg(_) => None,
        }
    }

    /// Run one statement; the number of rows it changed.
    pub(crate) fn execute(&self, sql: &str, params: &[Value<'_>]) -> Result<usize, DbError> {
        match self {
            Conn::Sqlite(c) => Ok(c
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(params))?),
            Conn::Pg(p) => {
                let stmt = p.statement(sql)?;
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                Ok(p.client.borrow_mut().execute(&stmt, &refs)? as usize)
            }
        }
    }

    /// Run one `INSERT` into a table whose key is `id` (an `INTEGER PRIMARY KEY` on SQLite, a
    /// generated key on PostgreSQL); the new row's id. `sql` has no `RETURNING` clause:
    /// PostgreSQL gets `RETURNING id` appended, SQLite reads `last_insert_rowid()`. SQLite runs
    /// a `RETURNING` statement through a temporary table that it creates and drops on every
    /// execution: ~100,000 instructions per report inserted at ingest, more than the insert
    /// (callgrind, docs/BENCHMARKS.md).
    pub(crate) fn insert_returning_id(
        &self,
        sql: &str,
        params: &[Value<'_>],
    ) -> Result<i64, DbError> {
        match self {
            Conn::Sqlite(c) => {
                let changed = c
                    .prepare_cached(sql)?
                    .execute(rusqlite::params_from_iter(params))?;
                // A statement that inserted nothing (`ON CONFLICT DO NOTHING`, a trigger's
                // `RAISE(IGNORE)`) leaves `last_insert_rowid` at an older row: never return that.
                if changed != 1 {
                    return Err(DbError::NoRows);
                }
                Ok(c.last_insert_rowid())
            }
            Conn::Pg(_) => self.query_row(&format!("{sql} RETURNING id"), params, |r| r.get(0)),
        }
    }

    /// Run statements without parameters.
    pub(crate) fn execute_batch(&self, sql: &str) -> Result<(), DbError> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Pg(p) => p.batch(sql),
        }
    }

    /// The first row, read by `f`; [`DbError::NoRows`] when there is none (see [`Optional`]).
    pub(crate) fn query_row<T>(
        &self,
        sql: &str,
        params: &[Value<'_>],
        f: impl FnOnce(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        match self {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
                match rows.next()? {
                    Some(r) => f(&Row::Sqlite(r)),
                    None => Err(DbError::NoRows),
                }
            }
            Conn::Pg(p) => {
                let rows = p.query(sql, params)?;
                match rows.first() {
                    Some(r) => f(&Row::Pg(r)),
                    None => Err(DbError::NoRows),
                }
            }
        }
    }

    /// Every row, each read by `f`.
    pub(crate) fn query_map<T>(
        &self,
        sql: &str,
        params: &[Value<'_>],
        mut f: impl FnMut(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        let mut out = Vec::new();
        self.query_each::<DbError>(sql, params, |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Call `f` on every row in turn.
    pub(crate) fn query_each<E: From<DbError>>(
        &self,
        sql: &str,
        params: &[Value<'_>],
        mut f: impl FnMut(&Row<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql).map_err(DbError::from)?;
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(params))
                    .map_err(DbError::from)?;
                while let Some(r) = rows.next().map_err(DbError::from)? {
                    f(&Row::Sqlite(r))?;
                }
                Ok(())
            }
            Conn::Pg(p) => {
                for r in &p.query(sql, params)? {
                    f(&Row::Pg(r))?;
                }
                Ok(())
            }
        }
    }

    /// Does the query return a row?
    pub(crate) fn exists(&self, sql: &str, params: &[Value<'_>]) -> Result<bool, DbError> {
        self.query_row(sql, params, |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
    }

    /// Start a write transaction holding the database's write lock (module doc).
    pub(crate) fn begin_write(&self) -> Result<(), DbError> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch("BEGIN IMMEDIATE")?),
            Conn::Pg(p) => {
                p.batch("BEGIN")?;
                // A lock that fails (`lock_timeout`, a cancelled statement) leaves the
                // transaction aborted, and no guard exists yet to end it: end it here, or every
                // later statement on this connection fails ("current transaction is aborted").
                let locked = p.batch(&format!(
                    "SELECT pg_advisory_xact_lock({})",
                    super::APPLICATION_ID
                ));
                if locked.is_err() {
                    let _ = p.batch("ROLLBACK");
                }
                locked
            }
        }
    }

    pub(crate) fn commit(&self) -> Result<(), DbError> {
        self.execute_batch("COMMIT")
    }

    pub(crate) fn rollback(&self) -> Result<(), DbError> {
        self.execute_batch("ROLLBACK")
    }
}

#[cfg(test)]
mod tests {
    use super::{translate, Value};

    #[test]
    fn an_insert_returns_its_new_id_and_an_insert_of_nothing_returns_none() {
        let conn = super::Conn::Sqlite(rusqlite::Connection::open_in_memory().unwrap());
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE)")
            .unwrap();
        let sql = "INSERT INTO t (k) VALUES (?1) ON CONFLICT DO NOTHING";
        assert_eq!(
            conn.insert_returning_id(sql, &[Value::Text("a")]).unwrap(),
            1
        );
        assert_eq!(
            conn.insert_returning_id(sql, &[Value::Text("b")]).unwrap(),
            2
        );
        // A conflict inserts nothing: not the id of the row inserted before it.
        assert!(matches!(
            conn.insert_returning_id(sql, &[Value::Text("a")]),
            Err(super::DbError::NoRows)
        ));
    }

    // Regression: text, real and blob values bound to a parameter of another type were sent as
    // their raw bytes (text read as an 8-byte integer); they are a type error now.
    #[test]
    fn a_value_of_another_type_than_its_parameter_is_a_type_error() {
        use postgres::types::{ToSql, Type};
        let mut out = bytes::BytesMut::new();
        for (v, ty) in [
            (Value::Text("12345678"), Type::INT8),
            (Value::Text("x"), Type::BYTEA),
            (Value::Real(1.5), Type::INT8),
            (Value::Real(1.5), Type::TEXT),
            (Value::Blob(b"12345678"), Type::INT8),
            (Value::Blob(b"x"), Type::TEXT),
            (Value::Int(1), Type::BYTEA),
        ] {
            assert!(v.to_sql(&ty, &mut out).is_err(), "{v:?} as {ty}");
        }
        for (v, ty) in [
            (Value::Text("x"), Type::TEXT),
            (Value::Text("a\0b"), Type::VARCHAR),
            (Value::Int(7), Type::INT8),
            (Value::Int(7), Type::TEXT),
            (Value::Int(1), Type::BOOL),
            (Value::Real(1.5), Type::FLOAT8),
            (Value::Blob(b"x"), Type::BYTEA),
            (Value::Null, Type::INT8),
        ] {
            assert!(v.to_sql(&ty, &mut out).is_ok(), "{v:?} as {ty}");
        }
    }

    // Regression: a bare `?` after `?1` was `$1` again (SQLite numbers it 2).
    #[test]
    fn a_bare_placeholder_takes_one_past_the_largest_number_so_far() {
        assert_eq!(translate("a = ?1, b = ?"), "a = $1, b = $2");
        assert_eq!(
            translate("a = ?3, b = ?, c = ?1, d = ?"),
            "a = $3, b = $4, c = $1, d = $5"
        );
        assert_eq!(translate("a = ?, b = ?1, c = ?"), "a = $1, b = $1, c = $2");
    }

    // Regression: comments were not skipped, so a quote in one swallowed later placeholders.
    #[test]
    fn comments_are_copied_and_their_contents_ignored() {
        assert_eq!(
            translate("-- it's ?\nSELECT ?1, ?"),
            "-- it's ?\nSELECT $1, $2"
        );
        assert_eq!(
            translate("SELECT /* it's ? */ ?, ? -- ?\n, ?"),
            "SELECT /* it's ? */ $1, $2 -- ?\n, $3"
        );
        assert_eq!(translate("SELECT 4 - ?, 6/?"), "SELECT 4 - $1, 6/$2");
    }

    // Regression: `E'it\'s'` ended at the escaped quote, and the rest was taken as quoted.
    #[test]
    fn escape_strings_and_doubled_quotes_stay_one_string() {
        assert_eq!(translate(r"SELECT E'it\'s ?', ?"), r"SELECT E'it\'s ?', $1");
        assert_eq!(translate("SELECT 'it''s ?', ?"), "SELECT 'it''s ?', $1");
        // A backslash in a standard string is a plain character.
        assert_eq!(translate(r"SELECT 'a\', ?"), r"SELECT 'a\', $1");
        assert_eq!(translate(r"SELECT NAME'a\', ?"), r"SELECT NAME'a\', $1");
    }

    #[test]
    fn placeholders_translate_outside_quotes_only() {
        assert_eq!(translate("a = ?1 AND b = ?12"), "a = $1 AND b = $12");
        assert_eq!(
            translate("a = ? AND b IN (?, ?)"),
            "a = $1 AND b IN ($2, $3)"
        );
        assert_eq!(
            translate("a = '?' AND \"x?\" = ?"),
            "a = '?' AND \"x?\" = $1"
        );
    }
}
