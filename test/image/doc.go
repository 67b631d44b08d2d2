// Package image assembles gitfleet's OCI images from binaries built on this machine,
// without Docker and without a base image: each image is one layer holding the binary, the
// build machine's CA certificates, an /etc/passwd and /etc/group with the non-root user
// gitfleet (uid and gid 65532), and, for a binary that is dynamically linked (gitfleet-gpu,
// whose NVML calls need dlopen), exactly the shared libraries it and the NVIDIA driver's
// library need, copied from the build machine.
//
// Images are reproducible: every file has the same time (the commit's, given by the
// caller), owner and order, so the same binaries give the same digest. Several platforms
// of one image form one image index; Write stores it as an OCI image layout on disk and
// Push sends a layout's index to a registry, by digest.
//
// It lives under test/ because it is a build tool that make image runs (test/imagetool),
// not part of what gitfleet ships, and the tests of the install pull its images back.
package image
