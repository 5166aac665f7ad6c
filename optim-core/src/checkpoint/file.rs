//! Checkpoints on disk, and the byte and file shortcuts on [`Optimizer`].

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::header::{self, PREFIX};
use super::{CheckpointError, StateDict};
use crate::{Element, OptimError, Optimizer, Rule};

impl<T: Element> StateDict<T> {
    /// Writes the checkpoint to `path` (see [the format](super#the-file-format)), replacing any
    /// file there only once the new one is completely written, so a crash mid-save never
    /// destroys the previous checkpoint. A symbolic link at `path` is followed (its target is
    /// replaced, the link stays) and the replaced file's permissions are kept.
    ///
    /// ```
    /// use optim_core::{builtins::Sgd, Optimizer, Param, StateDict};
    /// let p = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// let opt = Optimizer::<Sgd, f32>::new(vec![p], Sgd::hyper()).unwrap();
    /// let path = std::env::temp_dir().join(format!("optim-doc-sd-save-{}.safetensors", std::process::id()));
    /// opt.state_dict().save(&path).unwrap();
    /// assert_eq!(StateDict::<f32>::load(&path).unwrap(), opt.state_dict());
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), OptimError> {
        let path = path.as_ref();
        let bytes = self.to_bytes()?;
        write_replacing(path, &bytes).map_err(|e| io_error("write", path, &e).into())
    }

    /// Reads a checkpoint written by [`StateDict::save`]; see [`StateDict::from_bytes`] for what
    /// is checked. It reads no more than the file's header declares, so an endless file
    /// (`/dev/zero`, a pipe) is refused instead of filling memory.
    ///
    /// ```
    /// use optim_core::{CheckpointError, OptimError, StateDict};
    /// let err = StateDict::<f32>::load("/nonexistent/checkpoint.safetensors").unwrap_err();
    /// assert!(matches!(
    ///     err,
    ///     OptimError::Checkpoint(CheckpointError::Io { kind: std::io::ErrorKind::NotFound, .. })
    /// ));
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Self, OptimError> {
        let path = path.as_ref();
        let bytes = read_declared(path)?;
        StateDict::from_bytes(&bytes)
    }
}

impl<R: Rule, T: Element> Optimizer<R, T> {
    /// The optimizer's [`state_dict`](Optimizer::state_dict) as the bytes of a checkpoint file.
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Optimizer, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// let opt = Optimizer::<Adam, f32>::new(vec![p.clone()], Adam::hyper().lr(0.5)).unwrap();
    /// let bytes = opt.to_bytes().unwrap();
    ///
    /// let mut other = Optimizer::<Adam, f32>::new(vec![p], Adam::hyper()).unwrap();
    /// other.load_bytes(&bytes).unwrap();
    /// assert_eq!(other.param_groups()[0].hyper.lr, 0.5);
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>, OptimError> {
        self.state_dict().to_bytes()
    }

    /// Loads a checkpoint from the bytes of a file: [`StateDict::from_bytes`], then
    /// [`Optimizer::load_state_dict`]. On error the optimizer is exactly as it was.
    ///
    /// ```
    /// use optim_core::{builtins::Adam, CheckpointError, OptimError, Optimizer, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// let mut opt = Optimizer::<Adam, f32>::new(vec![p], Adam::hyper()).unwrap();
    /// let mut bytes = opt.to_bytes().unwrap();
    /// let last = bytes.len() - 1;
    /// bytes[last] ^= 1; // damage the file
    /// let err = opt.load_bytes(&bytes).unwrap_err();
    /// assert!(matches!(err, OptimError::Checkpoint(_)));
    /// ```
    pub fn load_bytes(&mut self, bytes: &[u8]) -> Result<(), OptimError> {
        let sd = StateDict::from_bytes(bytes)?;
        self.load_state_dict(&sd)
    }

    /// Saves the optimizer's state to a checkpoint file at `path`, as [`StateDict::save`].
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Optimizer, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f64, -1.0]).into_dyn());
    /// let mut opt = Optimizer::<Adam, f64>::new(vec![p.clone()], Adam::hyper().lr(0.1)).unwrap();
    /// p.set_grad(ndarray::arr1(&[1.0, 1.0]).into_dyn());
    /// opt.step().unwrap();
    /// let path = std::env::temp_dir().join(format!("optim-doc-save-{}.safetensors", std::process::id()));
    /// opt.save(&path).unwrap();
    ///
    /// // A new process: fresh parameters holding the saved values, a fresh optimizer.
    /// let q = Param::new(p.value());
    /// let mut resumed = Optimizer::<Adam, f64>::new(vec![q], Adam::hyper()).unwrap();
    /// resumed.load(&path).unwrap();
    /// assert_eq!(resumed.state_dict(), opt.state_dict());
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), OptimError> {
        self.state_dict().save(path)
    }

    /// Loads a checkpoint file written by [`Optimizer::save`]. Everything is validated first;
    /// on error the optimizer is exactly as it was.
    ///
    /// ```
    /// use optim_core::{builtins::{Adam, Sgd}, CheckpointError, OptimError, Optimizer, Param};
    /// let p = Param::new(ndarray::arr1(&[1.0f32]).into_dyn());
    /// let adam = Optimizer::<Adam, f32>::new(vec![p.clone()], Adam::hyper()).unwrap();
    /// let path = std::env::temp_dir().join(format!("optim-doc-load-{}.safetensors", std::process::id()));
    /// adam.save(&path).unwrap();
    ///
    /// let mut sgd = Optimizer::<Sgd, f32>::new(vec![p], Sgd::hyper()).unwrap();
    /// let err = sgd.load(&path).unwrap_err();
    /// assert!(matches!(err, OptimError::Checkpoint(CheckpointError::WrongOptimizer { .. })));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<(), OptimError> {
        let sd = StateDict::load(path)?;
        self.load_state_dict(&sd)
    }
}

fn io_error(action: &'static str, path: &Path, error: &io::Error) -> CheckpointError {
    CheckpointError::Io { action, path: path.to_path_buf(), kind: error.kind(), message: error.to_string() }
}

/// Reads the file at `path`, but no more than its header declares (and one byte more, to tell a
/// file with trailing bytes): the length prefix, the header, then the data its tensors' offsets
/// declare. The bytes are checked in full by the decoder afterwards.
fn read_declared(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    let read_error = |e: io::Error| io_error("read", path, &e);
    let mut file = File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    (&mut file).take(PREFIX as u64).read_to_end(&mut bytes).map_err(read_error)?;
    let header_len = header::header_len(&bytes)?;
    (&mut file).take(header_len as u64).read_to_end(&mut bytes).map_err(read_error)?;
    let Some(header_bytes) = bytes.get(PREFIX..) else { return Ok(bytes) };
    if header_bytes.len() < header_len {
        return Ok(bytes); // truncated: the decoder says so
    }
    let data_len = header::data_len(header_bytes)?;
    let rest = header::file_len(header_len, data_len)? - bytes.len() as u64;
    (&mut file).take(rest.saturating_add(1)).read_to_end(&mut bytes).map_err(read_error)?;
    Ok(bytes)
}

/// Where saving to `path` writes: the file a symbolic link at `path` points to (followed
/// through any chain of links), so that saving through a link updates its target and keeps the
/// link, as writing a file in place would.
fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    // a bound on the chain, as the operating system has, so a cycle ends in an error
    for _ in 0..40 {
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&path)?;
                path = match path.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(path),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Writes `bytes` to a temporary file beside `path` (beside the target of a link at `path`),
/// with the permissions of the file it replaces, flushes it to disk, then renames it over that
/// file: readers see the old file or the new one, never a partial one.
fn write_replacing(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let path = &resolve_links(path)?;
    let permissions = fs::metadata(path).ok().filter(fs::Metadata::is_file).map(|meta| meta.permissions());
    static UNIQUE: AtomicU64 = AtomicU64::new(0);
    let file_name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
    let mut temp_name = OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".{}-{}.tmp", std::process::id(), UNIQUE.fetch_add(1, Ordering::Relaxed)));
    let temp = path.with_file_name(temp_name);
    let written = File::create_new(&temp)
        .and_then(|mut file| {
            if let Some(permissions) = permissions {
                file.set_permissions(permissions)?;
            }
            file.write_all(bytes).and_then(|()| file.sync_all())
        })
        .and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
        return written;
    }
    // Make the rename itself durable; not every platform can open a directory, so best effort.
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        let _ = File::open(dir).and_then(|dir| dir.sync_all());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_an_existing_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("optim-write-replacing-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ckpt.safetensors");
        write_replacing(&path, b"old").unwrap();
        write_replacing(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn saving_through_a_link_replaces_its_target_with_the_same_permissions() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let dir = std::env::temp_dir().join(format!("optim-write-link-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let target = dir.join("real.safetensors");
        let link = dir.join("latest.safetensors");
        write_replacing(&target, b"old").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        symlink("real.safetensors", &link).unwrap();
        write_replacing(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link was replaced");
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o600);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_file_is_refused_without_reading_it_all() {
        let err = read_declared(Path::new("/dev/zero")).unwrap_err();
        assert!(matches!(err, CheckpointError::Corrupt { kind: super::super::CorruptKind::Header, .. }), "{err:?}");
    }

    #[test]
    fn a_directory_path_is_an_error() {
        let err = write_replacing(Path::new("/"), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
