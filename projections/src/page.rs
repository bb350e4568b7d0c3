//! Paging of list queries: page numbers for short lists, keyset cursors for deep ones.

/// Largest page a client may ask for.
pub const MAX_PER_PAGE: i64 = 200;

/// A page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows.
    pub data: Vec<T>,
    /// Page number (1-based) when paging by number.
    pub page: i64,
    /// Rows per page.
    pub per_page: i64,
    /// Rows matching the filters in all.
    pub total: i64,
    /// Cursor of the next page, when there is one.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from rows fetched with `per_page + 1` as limit: the extra row only
    /// tells that a next page exists, and `key` makes the cursor from the last row kept.
    pub fn from_rows(mut data: Vec<T>, page: &PageRequest, total: i64, key: impl Fn(&T) -> String) -> Self {
        let more = data.len() as i64 > page.per_page;
        data.truncate(page.per_page.max(0) as usize);
        let next_cursor = if more { data.last().map(key) } else { None };
        Self {
            data,
            page: page.page.max(1),
            per_page: page.per_page,
            total,
            next_cursor,
        }
    }
}

/// What page the client asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Page number, from 1; ignored when a cursor is given.
    pub page: i64,
    /// Rows per page.
    pub per_page: i64,
    /// A `next_cursor` from an earlier page.
    pub cursor: Option<String>,
}

impl PageRequest {
    /// Rows to skip (0 with a cursor, which positions by key instead).
    pub fn offset(&self) -> i64 {
        if self.cursor.is_some() {
            0
        } else {
            (self.page.max(1) - 1) * self.per_page
        }
    }
}

/// The cursor of a row in a list ordered by a time, then id, both descending.
pub fn time_cursor(at: chrono::DateTime<chrono::Utc>, id: uuid::Uuid) -> String {
    format!("{}_{id}", at.timestamp_micros())
}

/// Reads a [`time_cursor`].
pub fn parse_time_cursor(cursor: &str) -> Result<(chrono::DateTime<chrono::Utc>, uuid::Uuid), crate::ProjectionError> {
    use crate::ProjectionError::InvalidCursor;
    let (micros, id) = cursor.split_once('_').ok_or(InvalidCursor)?;
    let at = micros
        .parse()
        .ok()
        .and_then(chrono::DateTime::from_timestamp_micros)
        .ok_or(InvalidCursor)?;
    Ok((at, uuid::Uuid::parse_str(id).map_err(|_| InvalidCursor)?))
}
