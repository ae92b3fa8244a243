"""Multi-run flows built on the library: PCA comparison, label efficiency, upsampling study."""
