//! One upload request: the multipart form, the `Content-Range` of a chunk, and storing the
//! file (whole, or chunk by chunk in any order) before the build starts.

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use bytes::Bytes;
use wafer_store::{Deployment, DeploymentStatus, Function, StoreError, unique_id};

use super::remove_upload_dir;
use crate::build::{self, CHUNK_SIZE, MAX_SOURCE_BYTES};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::params::parse_bool;
use crate::state::AppState;

/// The multipart fields of an upload; every chunk repeats them.
#[derive(Default)]
pub struct UploadForm {
    activate: bool,
    entrypoint: String,
}

/// The form and the `code` file, which must not be empty.
pub async fn read_form(multipart: &mut Multipart) -> ApiResult<(UploadForm, Bytes)> {
    let mut form = UploadForm::default();
    let mut code = Bytes::new();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "code" => code = field.bytes().await.map_err(multipart_error)?,
            "activate" => form.activate = parse_bool("activate", &field_text(field).await?)?,
            "entrypoint" => form.entrypoint = field_text(field).await?.trim().to_owned(),
            // `commands` only matters to servers that build from sources; wafer takes the
            // compiled component.
            _ => {}
        }
    }
    if code.is_empty() {
        return Err(ApiError::invalid_argument(
            "Param `code` is required: the deployment file (a .wasm component, or a .tar.gz \
             holding one).",
        ));
    }
    Ok((form, code))
}

async fn field_text(field: Field<'_>) -> ApiResult<String> {
    field.text().await.map_err(multipart_error)
}

fn multipart_error(error: MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return file_too_large();
    }
    ApiError::invalid_argument(format!(
        "The multipart body cannot be read: {}.",
        error.body_text()
    ))
}

fn file_too_large() -> ApiError {
    ApiError::new(
        ErrorKind::DeploymentInvalidFileSize,
        format!(
            "The deployment file is too large: at most {} MiB, sent in chunks of 5 MiB with \
             `Content-Range` when larger than 5 MiB.",
            MAX_SOURCE_BYTES >> 20
        ),
    )
}

fn invalid_range(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::StorageInvalidContentRange, message)
}

/// `Content-Range: bytes START-END/TOTAL` of one chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRange {
    start: u64,
    end: u64,
    total: u64,
}

impl ChunkRange {
    pub fn parse(value: &str) -> ApiResult<Self> {
        let bad = || {
            invalid_range(format!(
                "Invalid `Content-Range` header '{value}': expected `bytes START-END/TOTAL`."
            ))
        };
        let (range, total) = value
            .trim()
            .strip_prefix("bytes ")
            .and_then(|rest| rest.split_once('/'))
            .ok_or_else(bad)?;
        let (start, end) = range.split_once('-').ok_or_else(bad)?;
        let number = |text: &str| text.trim().parse::<u64>().map_err(|_| bad());
        let range = Self {
            start: number(start)?,
            end: number(end)?,
            total: number(total)?,
        };
        range.validate()?;
        Ok(range)
    }

    /// The SDKs cut files into fixed 5 MiB chunks: only the last may be shorter.
    fn validate(self) -> ApiResult<()> {
        if self.total > MAX_SOURCE_BYTES {
            return Err(file_too_large());
        }
        let Self { start, end, total } = self;
        if start > end || end >= total {
            return Err(invalid_range(format!(
                "Invalid `Content-Range` bytes {start}-{end}/{total}: the range must lie inside \
                 the file."
            )));
        }
        let expected_end = (start + CHUNK_SIZE).min(total) - 1;
        if start % CHUNK_SIZE != 0 || end != expected_end {
            return Err(invalid_range(format!(
                "Invalid `Content-Range` bytes {start}-{end}/{total}: chunks must be {CHUNK_SIZE} \
                 bytes long (the last one shorter) and start at a multiple of that size."
            )));
        }
        Ok(())
    }

    fn len(self) -> u64 {
        self.end - self.start + 1
    }

    fn index(self) -> u32 {
        (self.start / CHUNK_SIZE) as u32
    }

    fn count(self) -> u32 {
        self.total.div_ceil(CHUNK_SIZE) as u32
    }
}

/// One upload request to `function`.
pub struct Upload<'a> {
    pub state: &'a AppState,
    pub function: &'a Function,
    pub form: UploadForm,
}

impl Upload<'_> {
    fn new_deployment(
        &self,
        status: DeploymentStatus,
        source_size: u64,
        chunks: u32,
    ) -> Deployment {
        // The function's entrypoint applies when the upload names none, as in Appwrite.
        let entrypoint = if self.form.entrypoint.is_empty() {
            self.function.entrypoint.clone()
        } else {
            self.form.entrypoint.clone()
        };
        Deployment {
            id: unique_id(),
            project_id: self.function.project_id.clone(),
            function_id: self.function.id.clone(),
            entrypoint,
            source_size,
            activate: self.form.activate,
            status,
            chunks_total: chunks,
            ..Deployment::default()
        }
    }

    /// A file sent in one request: stored, recorded, built.
    pub async fn whole(&self, code: Bytes) -> ApiResult<Deployment> {
        if code.len() as u64 > MAX_SOURCE_BYTES {
            return Err(file_too_large());
        }
        let deployment = self.new_deployment(DeploymentStatus::Processing, code.len() as u64, 0);
        let created = async {
            self.store_files(&deployment, code).await?;
            let project = &deployment.project_id;
            Ok::<_, ApiError>(
                self.state
                    .store
                    .create_deployment(project, deployment.clone())
                    .await?,
            )
        }
        .await;
        match created {
            Ok(created) => {
                build::spawn(self.state.clone(), created.clone());
                Ok(created)
            }
            Err(error) => {
                remove_upload_dir(self.state, &deployment.id).await;
                Err(error)
            }
        }
    }

    /// The source and the build marker go to disk before the record exists, so a recorded
    /// `processing` deployment always has both.
    async fn store_files(&self, deployment: &Deployment, code: Bytes) -> Result<(), ApiError> {
        let path = build::source_path(self.state, &deployment.id);
        build::write_atomically(path, code)
            .await
            .map_err(storage_error)?;
        build::write_marker(self.state, deployment).await
    }

    /// One chunk: the first (no `x-appwrite-id`) creates the deployment; the one completing
    /// the upload, whichever it is, starts the build.
    pub async fn chunk(
        &self,
        range: ChunkRange,
        upload_id: Option<&str>,
        code: Bytes,
    ) -> ApiResult<Deployment> {
        if code.len() as u64 != range.len() {
            return Err(invalid_range(format!(
                "The chunk holds {} bytes but `Content-Range` announces {}.",
                code.len(),
                range.len()
            )));
        }
        let state = self.state;
        let mut deployment = match upload_id {
            None => self.new_deployment(DeploymentStatus::Waiting, range.total, range.count()),
            Some(id) => {
                let existing = state
                    .store
                    .get_deployment(&self.function.project_id, &self.function.id, id)
                    .await?;
                if existing.status != DeploymentStatus::Waiting {
                    // A chunk sent again after the upload completed: nothing left to do.
                    return Ok(existing);
                }
                if existing.source_size != range.total {
                    return Err(invalid_range(format!(
                        "The chunk says the file has {} bytes; the upload started with {}.",
                        range.total, existing.source_size
                    )));
                }
                existing
            }
        };
        // The chunk is on disk before it is counted, so whoever sees the upload complete
        // finds every chunk in place.
        let path = build::chunk_path(state, &deployment.id, range.index());
        build::write_atomically(path, code)
            .await
            .map_err(storage_error)?;
        if upload_id.is_none() {
            let project = deployment.project_id.clone();
            match state
                .store
                .create_deployment(&project, deployment.clone())
                .await
            {
                Ok(created) => deployment = created,
                Err(error) => {
                    remove_upload_dir(state, &deployment.id).await;
                    return Err(error.into());
                }
            }
        }
        let progress = state
            .store
            .record_chunk(
                &deployment.project_id,
                &deployment.id,
                range.index(),
                range.count(),
            )
            .await
            .map_err(|error| match error {
                StoreError::InvalidArgument(message) => invalid_range(message),
                other => other.into(),
            })?;
        if progress.is_complete() {
            return build::start_when_complete(state, &deployment).await;
        }
        deployment.chunks_uploaded = progress.uploaded;
        Ok(deployment)
    }
}

fn storage_error(error: std::io::Error) -> ApiError {
    ApiError::internal(format!("The upload could not be stored: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_ranges_follow_the_sdk_chunk_size() {
        let first = ChunkRange::parse("bytes 0-5242879/11000000").expect("valid");
        assert_eq!(
            (first.index(), first.count(), first.len()),
            (0, 3, CHUNK_SIZE)
        );
        let last = ChunkRange::parse("bytes 10485760-10999999/11000000").expect("valid");
        assert_eq!(last.index(), 2);
        let only = ChunkRange::parse("bytes 0-99/100").expect("valid");
        assert_eq!((only.index(), only.count()), (0, 1));
    }

    #[test]
    fn misaligned_or_inconsistent_ranges_are_refused() {
        for bad in [
            "bytes 1-5242880/11000000",
            "bytes 0-100/11000000",
            "bytes 0-5242879/100",
            "bytes 10-5/100",
            "items 0-1/2",
            "bytes 0-1",
        ] {
            let error = ChunkRange::parse(bad).expect_err(bad);
            assert_eq!(
                error.kind.as_str(),
                "storage_invalid_content_range",
                "{bad}"
            );
        }
        let error = ChunkRange::parse("bytes 0-5242879/999999999").expect_err("too large");
        assert_eq!(error.kind.as_str(), "deployment_invalid_file_size");
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        const INVALID_RANGE: &str = "storage_invalid_content_range";

        /// The one range the SDKs send for chunk `index` of a `total`-byte file.
        fn sdk_range(index: u64, total: u64) -> (u64, u64) {
            let start = index * CHUNK_SIZE;
            (start, start.saturating_add(CHUNK_SIZE).min(total) - 1)
        }

        /// A byte offset at, just before or just after a chunk boundary, or anywhere.
        fn offset() -> impl Strategy<Value = u64> {
            prop_oneof![
                (0u64..=14, -1i64..=1).prop_map(|(chunk, delta)| {
                    (chunk * CHUNK_SIZE).saturating_add_signed(delta)
                }),
                0..=MAX_SOURCE_BYTES + 1,
                any::<u64>(),
            ]
        }

        fn config() -> ProptestConfig {
            ProptestConfig {
                failure_persistence: None,
                ..ProptestConfig::with_cases(256)
            }
        }

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn arbitrary_header_values_never_panic(value in any::<String>()) {
                let _ = ChunkRange::parse(&value);
            }

            #[test]
            fn header_like_values_never_panic(
                value in "(bytes )?[0-9 +-]{0,24}(/[0-9 +-]{0,24})?",
            ) {
                let _ = ChunkRange::parse(&value);
            }

            #[test]
            fn every_sdk_chunk_of_a_file_is_accepted(
                total in 1..=MAX_SOURCE_BYTES,
                pick in any::<proptest::sample::Index>(),
            ) {
                let count = total.div_ceil(CHUNK_SIZE);
                let index = pick.index(count as usize) as u64;
                let (start, end) = sdk_range(index, total);
                let range = ChunkRange::parse(&format!("bytes {start}-{end}/{total}"))
                    .map_err(|error| TestCaseError::fail(error.message))?;
                prop_assert_eq!(u64::from(range.index()), index);
                prop_assert_eq!(u64::from(range.count()), count);
                prop_assert_eq!(range.len(), end - start + 1);
            }

            #[test]
            fn a_range_is_accepted_exactly_when_it_is_an_sdk_chunk(
                start in offset(),
                end in offset(),
                total in prop_oneof![offset(), 1..=MAX_SOURCE_BYTES],
            ) {
                let header = format!("bytes {start}-{end}/{total}");
                let parsed = ChunkRange::parse(&header);
                let is_sdk_chunk = start < total
                    && start % CHUNK_SIZE == 0
                    && (start, end) == sdk_range(start / CHUNK_SIZE, total);
                match parsed {
                    Ok(_) => prop_assert!(is_sdk_chunk && total <= MAX_SOURCE_BYTES, "{header}"),
                    Err(error) if total > MAX_SOURCE_BYTES => {
                        prop_assert_eq!(error.kind.as_str(), "deployment_invalid_file_size");
                    }
                    Err(error) => {
                        prop_assert!(!is_sdk_chunk, "{header} refused: {}", error.message);
                        prop_assert_eq!(error.kind.as_str(), INVALID_RANGE);
                    }
                }
            }
        }
    }
}
