# Debian package of etmem: `cpack -G DEB` in a build directory.
# Installs under /usr (units in /usr/lib/systemd/system, the bus policy, the activation file
# and the polkit action where dbus-daemon and polkitd read them); the maintainer scripts
# make systemd and dbus-daemon read the new files at once.
set(CPACK_PACKAGE_NAME etmem)
set(CPACK_PACKAGE_VENDOR "openEuler")
set(CPACK_PACKAGE_CONTACT "etmem developers <dev@openeuler.org>")
set(CPACK_PACKAGE_VERSION ${ETMEM_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "memory tiering daemon: moves cold pages of chosen processes out of DRAM")
set(CPACK_PACKAGE_DESCRIPTION
    "etmemd finds the cold pages of chosen processes and swaps them out (zram or fast\n\
storage), so the same DRAM holds more. Projects are managed with the etmem command or\n\
over D-Bus (org.openeuler.Etmem); changes are authorized by polkit.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://gitee.com/openeuler/etmem")
# Runtime libraries of etmemd/etmem (Debian 12 names), the bus, and polkitd which decides
# every change. Listed rather than computed by dpkg-shlibdeps so the build needs no
# packaging tools beyond dpkg-deb.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libsdbus-c++1 (>= 1.2.0), libsystemd0, libyaml-cpp0.7, libfmt9, libc6, libstdc++6, libgcc-s1, dbus, polkitd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/debian/postinst ${CMAKE_CURRENT_LIST_DIR}/debian/prerm
    ${CMAKE_CURRENT_LIST_DIR}/debian/postrm)
# Maintainer scripts must be 0755 and the rest 0644, as lintian expects.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

include(CPack)
