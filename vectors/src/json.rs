//! Typed access into vector JSON, with errors that name the path of the missing field.

use serde_json::Value;

/// A vector file that cannot be interpreted (as opposed to one whose values mismatch).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VectorError {
    /// A required field is absent or has the wrong JSON type.
    #[error("field `{0}` is missing or has the wrong type")]
    Missing(String),
    /// A field is not lowercase hex of the right length.
    #[error("field `{0}` is not valid hex of the expected length")]
    BadHex(String),
    /// A field holds a value this verifier does not know.
    #[error("field `{path}` has unsupported value {value}")]
    Unsupported {
        /// Where.
        path: String,
        /// What.
        value: String,
    },
    /// The file could not be read or is not JSON.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Looks up a dotted path (`a.b.0.c`) in `root`.
pub fn at<'a>(root: &'a Value, path: &str) -> Result<&'a Value, VectorError> {
    let mut cur = root;
    for part in path.split('.') {
        cur = match (cur, part.parse::<usize>()) {
            (Value::Array(items), Ok(i)) => items.get(i),
            (Value::Object(map), _) => map.get(part),
            _ => None,
        }
        .ok_or_else(|| VectorError::Missing(path.to_owned()))?;
    }
    Ok(cur)
}

/// A string field.
pub fn str_at<'a>(root: &'a Value, path: &str) -> Result<&'a str, VectorError> {
    at(root, path)?.as_str().ok_or_else(|| VectorError::Missing(path.to_owned()))
}

/// A string field that may be absent or null.
pub fn opt_str_at<'a>(root: &'a Value, path: &str) -> Option<&'a str> {
    at(root, path).ok().and_then(Value::as_str)
}

/// An unsigned integer field.
pub fn u64_at(root: &Value, path: &str) -> Result<u64, VectorError> {
    at(root, path)?.as_u64().ok_or_else(|| VectorError::Missing(path.to_owned()))
}

/// A boolean field.
pub fn bool_at(root: &Value, path: &str) -> Result<bool, VectorError> {
    at(root, path)?.as_bool().ok_or_else(|| VectorError::Missing(path.to_owned()))
}

/// An array field.
pub fn array_at<'a>(root: &'a Value, path: &str) -> Result<&'a [Value], VectorError> {
    at(root, path)?.as_array().map(Vec::as_slice).ok_or_else(|| VectorError::Missing(path.to_owned()))
}

/// A hex field as bytes.
pub fn hex_at(root: &Value, path: &str) -> Result<Vec<u8>, VectorError> {
    hex::decode(str_at(root, path)?).map_err(|_| VectorError::BadHex(path.to_owned()))
}

/// A hex field of exactly `N` bytes.
pub fn hex_n_at<const N: usize>(root: &Value, path: &str) -> Result<[u8; N], VectorError> {
    hex_at(root, path)?.try_into().map_err(|_| VectorError::BadHex(path.to_owned()))
}
