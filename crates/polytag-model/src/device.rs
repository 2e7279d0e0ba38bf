//! `training.device` → a burn [`Device`].
//!
//! `cpu` is burn's pure-Rust `flex` backend (always compiled in); `wgpu` and `cuda` exist only
//! in builds with the cargo features of the same names (they need network access to build and,
//! for CUDA, a GPU; CI has neither, design.md §8). `auto` is [`Device::default()`], burn's
//! *compile-time* priority list (cuda > … > wgpu > … > flex), not a runtime probe
//! (burn-0.22-notes §1). Training wraps the result in `.autodiff()`.

use burn::prelude::*;
use polytag_config::DeviceKind;

use crate::error::{ModelError, Result};

/// The burn device for `training.device` (without autodiff).
///
/// # Errors
/// [`ModelError::DeviceFeature`] when the backend was not compiled in, naming the feature.
pub fn select_device(kind: DeviceKind) -> Result<Device> {
    match kind {
        DeviceKind::Cpu => Ok(Device::flex()),
        DeviceKind::Auto => Ok(Device::default()),
        DeviceKind::Wgpu => wgpu(),
        DeviceKind::Cuda => cuda(),
    }
}

#[cfg(feature = "wgpu")]
fn wgpu() -> Result<Device> {
    Ok(Device::wgpu(burn::tensor::DeviceKind::default()))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu() -> Result<Device> {
    Err(ModelError::DeviceFeature {
        device: "wgpu",
        feature: "wgpu",
    })
}

#[cfg(feature = "cuda")]
fn cuda() -> Result<Device> {
    Ok(Device::cuda(0))
}

#[cfg(not(feature = "cuda"))]
fn cuda() -> Result<Device> {
    Err(ModelError::DeviceFeature {
        device: "cuda",
        feature: "cuda",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_flex_and_missing_backends_name_their_feature() {
        let device = select_device(DeviceKind::Cpu).unwrap();
        assert_eq!(device, Device::flex());
        #[cfg(not(feature = "cuda"))]
        assert_eq!(
            select_device(DeviceKind::Cuda).unwrap_err().to_string(),
            "device cuda needs polytag built with the cargo feature `cuda` \
             (cargo build --release --features cuda)"
        );
        #[cfg(not(feature = "wgpu"))]
        assert!(matches!(
            select_device(DeviceKind::Wgpu),
            Err(ModelError::DeviceFeature {
                feature: "wgpu",
                ..
            })
        ));
        assert!(select_device(DeviceKind::Auto).is_ok());
    }
}
