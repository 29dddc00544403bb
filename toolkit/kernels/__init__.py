"""Other kernels for the verifier-log corpus: Debian kernel images (debian), the guest
initramfs (initramfs, guest/loader.c), booting in qemu/TCG (qemu) and the capture itself
(capture). Nothing here installs a kernel on the host.
"""
