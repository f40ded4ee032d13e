//! From the uploaded file to the component's bytes: assembling chunks in order, and taking
//! the `.wasm` out of a .tar.gz without letting a decompression bomb fill memory.

use std::fmt::Write as _;
use std::io::{self, Read};
use std::path::Path;

use super::{MAX_SOURCE_BYTES, SOURCE_FILE};

/// The most a .tar.gz may unpack to (all entries together).
const MAX_UNPACKED_BYTES: u64 = MAX_SOURCE_BYTES;
const WASM_MAGIC: &[u8] = b"\0asm";
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

/// The uploaded file: `source` if present, else assembled from the chunks in order.
pub(super) fn read_source(dir: &Path, chunks: u32, expected: u64) -> Result<Vec<u8>, String> {
    let source = dir.join(SOURCE_FILE);
    if !source.is_file() {
        if chunks == 0 {
            return Err(
                "The uploaded file is missing on the server (it was lost before the \
                        build started). Upload the deployment again."
                    .to_owned(),
            );
        }
        assemble(dir, chunks)?;
    }
    let bytes = std::fs::read(&source)
        .map_err(|error| format!("The uploaded file cannot be read ({error}). Upload it again."))?;
    if expected != 0 && bytes.len() as u64 != expected {
        return Err(format!(
            "The upload holds {} bytes but announced {expected}. Upload the deployment again.",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// Concatenates chunk files `0..chunks` into `source`, then drops the chunks.
fn assemble(dir: &Path, chunks: u32) -> Result<(), String> {
    let temporary = dir.join(format!("{SOURCE_FILE}.assembling"));
    let copy = || -> Result<(), String> {
        let mut out = crate::private_files::create_file(&temporary)
            .map_err(|error| format!("The upload cannot be assembled ({error})."))?;
        for index in 0..chunks {
            let mut chunk = std::fs::File::open(dir.join(index.to_string())).map_err(|error| {
                format!("Chunk {index} of the upload is missing on the server ({error}). Upload the deployment again.")
            })?;
            io::copy(&mut chunk, &mut out)
                .map_err(|error| format!("The upload cannot be assembled ({error})."))?;
        }
        out.sync_all()
            .and_then(|()| std::fs::rename(&temporary, dir.join(SOURCE_FILE)))
            .map_err(|error| format!("The upload cannot be assembled ({error})."))
    };
    let assembled = copy();
    if assembled.is_err() {
        let _ = std::fs::remove_file(&temporary);
        return assembled;
    }
    for index in 0..chunks {
        let _ = std::fs::remove_file(dir.join(index.to_string()));
    }
    Ok(())
}

#[derive(Debug)]
pub(super) struct Unpacked {
    pub wasm: Vec<u8>,
    pub source_size: u64,
    /// The first lines of the build log.
    pub log: String,
}

/// A bare component is taken as is; a .tar.gz gives up the `.wasm` at `entrypoint`.
pub(super) fn unpack(source: Vec<u8>, entrypoint: &str) -> Result<Unpacked, String> {
    let source_size = source.len() as u64;
    if source.starts_with(WASM_MAGIC) {
        return Ok(Unpacked {
            wasm: source,
            source_size,
            log: String::new(),
        });
    }
    if !source.starts_with(GZIP_MAGIC) {
        return Err(
            "The file is neither a WebAssembly component (a .wasm file, starting with \
                    `\\0asm`) nor a .tar.gz archive holding one. Upload the component itself, \
                    or a gzipped tarball with the .wasm at `entrypoint`."
                .to_owned(),
        );
    }
    let (path, wasm) = unpack_archive(&source, entrypoint)?;
    let log = format!(
        "Unpacked `{path}` ({}) from a .tar.gz archive of {}.\n",
        human_size(wasm.len() as u64),
        human_size(source_size)
    );
    Ok(Unpacked {
        wasm,
        source_size,
        log,
    })
}

/// Finds the `.wasm` to deploy: the file at `entrypoint`, or the archive's only `.wasm`. An
/// archive with a `..` entry, or a link where the component should be, is refused.
fn unpack_archive(archive: &[u8], entrypoint: &str) -> Result<(String, Vec<u8>), String> {
    let wanted = normalize(entrypoint);
    let unreadable = |error: io::Error| format!("The .tar.gz archive cannot be unpacked: {error}.");
    let reader = Limited {
        inner: flate2::read::GzDecoder::new(archive),
        left: MAX_UNPACKED_BYTES,
    };
    let mut tar = tar::Archive::new(reader);
    let mut wasm_files = Vec::new();
    let mut chosen: Option<(String, Vec<u8>)> = None;
    for entry in tar.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let path = normalize(&entry.path().map_err(unreadable)?.to_string_lossy());
        if climbs_out(&path) {
            return Err(format!(
                "The archive entry `{path}` climbs out of the archive with `..`; rebuild the \
                 archive with paths inside it."
            ));
        }
        let is_wasm = path.ends_with(".wasm");
        let wanted_here = if wanted.is_empty() {
            is_wasm
        } else {
            path == wanted
        };
        let entry_type = entry.header().entry_type();
        if wanted_here && (entry_type.is_symlink() || entry_type.is_hard_link()) {
            return Err(format!(
                "The archive entry `{path}` is a link, not a file; put the component itself \
                 in the archive."
            ));
        }
        if !entry_type.is_file() {
            continue;
        }
        if is_wasm {
            wasm_files.push(path.clone());
        }
        if wanted_here && chosen.is_none() {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(unreadable)?;
            chosen = Some((path, bytes));
        }
    }
    match chosen {
        Some(found) if !wanted.is_empty() || wasm_files.len() == 1 => Ok(found),
        Some(_) => Err(format!(
            "The archive holds several .wasm files ({}). Set `entrypoint` to the one to deploy.",
            name_list(&wasm_files)
        )),
        None if wanted.is_empty() => Err("The archive holds no .wasm file. Put the compiled \
                                          component in it, or upload the .wasm itself."
            .to_owned()),
        None if wasm_files.is_empty() => Err(format!(
            "The archive has no file at the entrypoint `{wanted}`, and no .wasm file at all."
        )),
        None => Err(format!(
            "The archive has no file at the entrypoint `{wanted}`. Its .wasm files: {}; set \
             `entrypoint` to one of them.",
            name_list(&wasm_files)
        )),
    }
}

/// Whether an entry's name has a `..` segment: such an archive was built to escape the directory
/// it is unpacked into. Nothing here is written to disk, but no honest archive needs one.
fn climbs_out(path: &str) -> bool {
    path.split(['/', '\\']).any(|segment| segment == "..")
}

/// `./dist/x.wasm` and `/dist/x.wasm` name the same file as `dist/x.wasm`.
fn normalize(path: &str) -> String {
    let mut path = path.trim();
    loop {
        let stripped = path.trim_start_matches('/').trim_start_matches("./");
        if stripped == path {
            return path.to_owned();
        }
        path = stripped;
    }
}

fn name_list(names: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut list = names
        .iter()
        .take(SHOWN)
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        let _ = write!(list, " and {} more", names.len() - SHOWN);
    }
    list
}

/// Refuses to decompress past a limit, so a small archive cannot fill memory or disk.
struct Limited<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.left = self.left.checked_sub(read as u64).ok_or_else(|| {
            io::Error::other(format!(
                "it unpacks to more than {} MiB, the most a deployment may hold",
                MAX_UNPACKED_BYTES >> 20
            ))
        })?;
        Ok(read)
    }
}

pub(super) fn human_size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let bytes_f = bytes as f64;
    if bytes_f < KIB {
        format!("{bytes} B")
    } else if bytes_f < KIB * KIB {
        format!("{:.1} KiB", bytes_f / KIB)
    } else {
        format!("{:.1} MiB", bytes_f / (KIB * KIB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for (path, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, path, *bytes).expect("append");
        }
        tar.into_inner().expect("tar").finish().expect("gzip")
    }

    /// A tar.gz whose entries carry their names verbatim (the `tar` builder refuses `..` and
    /// absolute names, which is what these tests need to send), regular files or symlinks.
    fn raw_archive(entries: &[(String, Entry)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for (name, entry) in entries {
            let mut header = tar::Header::new_gnu();
            let field = &mut header.as_gnu_mut().expect("gnu header").name;
            field[..name.len()].copy_from_slice(name.as_bytes());
            header.set_mode(0o644);
            match entry {
                Entry::File(bytes) => {
                    header.set_size(bytes.len() as u64);
                    header.set_cksum();
                    tar.append(&header, bytes.as_slice()).expect("append");
                }
                Entry::Symlink(target) => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    header.set_link_name(target).expect("link name");
                    header.set_cksum();
                    tar.append(&header, std::io::empty()).expect("append");
                }
            }
        }
        tar.into_inner().expect("tar").finish().expect("gzip")
    }

    #[derive(Debug, Clone)]
    enum Entry {
        File(Vec<u8>),
        Symlink(String),
    }

    #[test]
    fn an_entry_climbing_out_with_dot_dot_is_refused() {
        let source = raw_archive(&[("erf/../pb.wasm".to_owned(), Entry::File(b"\0asm".to_vec()))]);
        let error = unpack_archive(&source, "").expect_err("refused");
        assert!(
            error.contains("`erf/../pb.wasm`") && error.contains(".."),
            "{error}"
        );
    }

    #[test]
    fn a_link_at_the_entrypoint_is_refused() {
        let source = raw_archive(&[
            ("a.txt".to_owned(), Entry::Symlink("/etc/a".to_owned())),
            ("real.wasm".to_owned(), Entry::File(b"\0asm".to_vec())),
        ]);
        let error = unpack_archive(&source, "a.txt").expect_err("refused");
        assert!(
            error.contains("`a.txt`") && error.contains("link"),
            "{error}"
        );
    }

    #[test]
    fn the_only_wasm_of_an_archive_is_taken_without_an_entrypoint() {
        let source = archive(&[("README.md", b"hi"), ("./dist/app.wasm", b"\0asm-1")]);
        let (path, wasm) = unpack_archive(&source, "").expect("unpacks");
        assert_eq!(path, "dist/app.wasm");
        assert_eq!(wasm, b"\0asm-1");
    }

    #[test]
    fn several_wasm_files_without_an_entrypoint_are_named_in_the_error() {
        let source = archive(&[("a.wasm", b"\0asm"), ("b/c.wasm", b"\0asm")]);
        let error = unpack_archive(&source, "").expect_err("refused");
        assert!(error.contains("`a.wasm`, `b/c.wasm`"), "{error}");
        let error = unpack_archive(&source, "x.wasm").expect_err("refused");
        assert!(
            error.contains("no file at the entrypoint `x.wasm`"),
            "{error}"
        );
        let (path, _) = unpack_archive(&source, "./b/c.wasm").expect("unpacks");
        assert_eq!(path, "b/c.wasm");
    }

    #[test]
    fn an_archive_unpacking_past_the_limit_is_refused() {
        let zeros = vec![0u8; (MAX_UNPACKED_BYTES + 1024) as usize];
        let source = archive(&[("big.wasm", &zeros)]);
        assert!(source.len() < 1 << 20, "zeros compress well");
        let error = unpack_archive(&source, "").expect_err("refused");
        assert!(error.contains("more than 64 MiB"), "{error}");
    }

    #[test]
    fn a_file_neither_wasm_nor_gzip_is_refused_with_both_forms_named() {
        let error = unpack(b"PK\x03\x04".to_vec(), "").expect_err("refused");
        assert!(
            error.contains(".tar.gz") && error.contains(".wasm"),
            "{error}"
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// A relative name of one or two plain segments, `.wasm` or not.
        fn relative_name() -> impl Strategy<Value = String> {
            ("[a-z]{1,8}(/[a-z]{1,8})?", any::<bool>())
                .prop_map(|(stem, wasm)| format!("{stem}{}", if wasm { ".wasm" } else { ".txt" }))
        }

        fn contents() -> impl Strategy<Value = Vec<u8>> {
            proptest::collection::vec(any::<u8>(), 0..600)
        }

        /// Other files of an archive, none named like the entrypoint.
        fn other_files(entrypoint: String) -> impl Strategy<Value = Vec<(String, Entry)>> {
            proptest::collection::vec((relative_name(), contents()), 0..5).prop_map(move |files| {
                files
                    .into_iter()
                    .filter(|(name, _)| *name != entrypoint)
                    .map(|(name, bytes)| (name, Entry::File(bytes)))
                    .collect()
            })
        }

        fn config(cases: u32) -> ProptestConfig {
            ProptestConfig {
                failure_persistence: None,
                ..ProptestConfig::with_cases(cases)
            }
        }

        fn assert_clear(error: &str) {
            assert!(
                error.starts_with("The ") && error.len() > 30,
                "unclear error: {error}"
            );
        }

        proptest! {
            #![proptest_config(config(256))]

            #[test]
            fn arbitrary_bytes_never_panic_and_fail_clearly(
                bytes in proptest::collection::vec(any::<u8>(), 0..2048),
                prefix in prop_oneof![Just(Vec::new()), Just(GZIP_MAGIC.to_vec())],
                entrypoint in "[a-z./]{0,12}",
            ) {
                let source = [prefix, bytes].concat();
                match unpack(source.clone(), &entrypoint) {
                    Ok(unpacked) => prop_assert!(source.starts_with(WASM_MAGIC) && unpacked.wasm == source),
                    Err(error) => assert_clear(&error),
                }
            }

            #[test]
            fn gzipped_garbage_never_panics_and_fails_clearly(
                bytes in proptest::collection::vec(any::<u8>(), 0..4096),
            ) {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                std::io::Write::write_all(&mut gz, &bytes).expect("gzip");
                let source = gz.finish().expect("gzip");
                if let Err(error) = unpack(source, "") {
                    assert_clear(&error);
                }
            }

            #[test]
            fn an_archive_gives_back_the_file_at_its_entrypoint(
                (entrypoint, others) in relative_name().prop_flat_map(|name| (Just(name.clone()), other_files(name))),
                wasm in contents(),
                position in any::<proptest::sample::Index>(),
                spelled in prop_oneof![Just(""), Just("./"), Just("/")],
            ) {
                let mut entries = others;
                let at = position.index(entries.len() + 1);
                entries.insert(at, (entrypoint.clone(), Entry::File(wasm.clone())));
                let source = raw_archive(&entries);
                let (path, bytes) = unpack_archive(&source, &format!("{spelled}{entrypoint}"))
                    .map_err(TestCaseError::fail)?;
                prop_assert_eq!(path, entrypoint);
                prop_assert_eq!(bytes, wasm);
            }

            #[test]
            fn an_entry_climbing_out_with_dot_dot_is_refused_whichever_file_is_wanted(
                (entrypoint, others) in relative_name().prop_flat_map(|name| (Just(name.clone()), other_files(name))),
                climbing in "([a-z]{1,4}/)?\\.\\./[a-z]{1,6}\\.wasm",
                wasm in contents(),
            ) {
                let mut entries = others;
                entries.push((climbing.clone(), Entry::File(wasm)));
                let source = raw_archive(&entries);
                for wanted in [entrypoint.as_str(), climbing.as_str(), ""] {
                    let error = unpack_archive(&source, wanted).expect_err("refused");
                    prop_assert!(error.contains(&format!("`{climbing}`")) && error.contains(".."), "{error}");
                }
            }

            #[test]
            fn a_link_at_the_entrypoint_is_refused_wherever_it_points(
                entrypoint in relative_name(),
                target in prop_oneof!["/etc/[a-z]{1,8}", "\\.\\./[a-z]{1,8}", "[a-z]{1,8}\\.wasm"],
            ) {
                let entries = [
                    (entrypoint.clone(), Entry::Symlink(target)),
                    ("real.wasm".to_owned(), Entry::File(b"\0asm".to_vec())),
                ];
                let source = raw_archive(&entries);
                let error = unpack_archive(&source, &entrypoint).expect_err("refused");
                prop_assert!(error.contains(&format!("`{entrypoint}`")) && error.contains("link"), "{error}");
            }

            #[test]
            fn absolute_entry_names_are_read_as_relative_names(
                entrypoint in relative_name(),
                wasm in contents(),
            ) {
                // Nothing is written to disk: an entry's name only selects the file to deploy.
                let source = raw_archive(&[(format!("/{entrypoint}"), Entry::File(wasm.clone()))]);
                let (path, bytes) = unpack_archive(&source, &entrypoint).map_err(TestCaseError::fail)?;
                prop_assert_eq!(path, entrypoint);
                prop_assert_eq!(bytes, wasm);
            }

            #[test]
            fn chunks_written_in_any_order_reassemble_the_upload(
                (source, order) in proptest::collection::vec(
                    proptest::collection::vec(any::<u8>(), 1..300),
                    1..8,
                )
                .prop_flat_map(|chunks| {
                    let order: Vec<usize> = (0..chunks.len()).collect();
                    (Just(chunks), Just(order).prop_shuffle())
                }),
            ) {
                let dir = tempfile::tempdir().expect("temp dir");
                for index in order {
                    std::fs::write(dir.path().join(index.to_string()), &source[index]).expect("chunk");
                }
                let whole = source.concat();
                let read = read_source(dir.path(), source.len() as u32, whole.len() as u64)
                    .map_err(TestCaseError::fail)?;
                prop_assert_eq!(read, whole);
                for index in 0..source.len() {
                    prop_assert!(!dir.path().join(index.to_string()).exists(), "chunk {index} is left");
                }
            }
        }

        proptest! {
            #![proptest_config(config(6))]

            #[test]
            fn archives_unpacking_past_the_limit_are_refused_whichever_file_is_deployed(
                files in 2usize..5,
                deployed in any::<proptest::sample::Index>(),
            ) {
                let each = MAX_UNPACKED_BYTES / files as u64 + 1024;
                let zeros = vec![0u8; each as usize];
                let entries: Vec<(String, Entry)> = (0..files)
                    .map(|n| (format!("f{n}.wasm"), Entry::File(zeros.clone())))
                    .collect();
                let source = raw_archive(&entries);
                let wanted = format!("f{}.wasm", deployed.index(files));
                let error = unpack_archive(&source, &wanted).expect_err("refused");
                prop_assert!(error.contains("more than 64 MiB"), "{error}");
            }
        }
    }
}
