//! `training.device` → a burn [`Device`].
//!
//! `cpu` is burn's pure-Rust `flex` backend (always compiled in); `wgpu` and `cuda` exist only
//! in builds with the cargo features of the same names (they need network access to build and,
//! for CUDA, a GPU; CI has neither, design.md §8). `auto` is [`Device::default()`], burn's
//! *compile-time* priority list (cuda > … > wgpu > … > flex), not a runtime probe
//! (burn-0.22-notes §1). Training wraps the result in `.autodiff()`.

use burn::prelude::*;

use crate::error::{ModelError, Result};

/// The device a run asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The flex CPU backend.
    Cpu,
    /// wgpu (Vulkan / Metal / DX12 / GL); needs `--features wgpu`.
    Wgpu,
    /// CUDA device 0; needs `--features cuda`.
    Cuda,
    /// The first backend compiled in, by burn's priority.
    Auto,
}

impl DeviceChoice {
    /// The config spelling.
    pub fn name(self) -> &'static str {
        match self {
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Wgpu => "wgpu",
            DeviceChoice::Cuda => "cuda",
            DeviceChoice::Auto => "auto",
        }
    }
}

/// The burn device for a choice (without autodiff).
///
/// # Errors
/// [`ModelError::DeviceFeature`] when the backend was not compiled in, naming the feature.
pub fn select_device(choice: DeviceChoice) -> Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::flex()),
        DeviceChoice::Auto => Ok(Device::default()),
        DeviceChoice::Wgpu => wgpu(),
        DeviceChoice::Cuda => cuda(),
    }
}

#[cfg(feature = "wgpu")]
fn wgpu() -> Result<Device> {
    Ok(Device::wgpu(burn::tensor::DeviceKind::default()))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu() -> Result<Device> {
    Err(ModelError::DeviceFeature { device: "wgpu", feature: "wgpu" })
}

#[cfg(feature = "cuda")]
fn cuda() -> Result<Device> {
    Ok(Device::cuda(0))
}

#[cfg(not(feature = "cuda"))]
fn cuda() -> Result<Device> {
    Err(ModelError::DeviceFeature { device: "cuda", feature: "cuda" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_flex_and_missing_backends_name_their_feature() {
        let device = select_device(DeviceChoice::Cpu).unwrap();
        assert_eq!(device, Device::flex());
        #[cfg(not(feature = "cuda"))]
        assert_eq!(
            select_device(DeviceChoice::Cuda).unwrap_err().to_string(),
            "device cuda needs polytag built with the cargo feature `cuda` \
             (cargo build --release --features cuda)"
        );
        #[cfg(not(feature = "wgpu"))]
        assert!(matches!(
            select_device(DeviceChoice::Wgpu),
            Err(ModelError::DeviceFeature { feature: "wgpu", .. })
        ));
        assert!(select_device(DeviceChoice::Auto).is_ok());
    }
}
