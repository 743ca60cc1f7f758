# SPDX-License-Identifier: MulanPSL-2.0
# Debian package of etmem: `cpack -G DEB` in a build directory (tests/deploy/check_deb.sh).
#
# CPack's DEB generator rather than a debian/ source package built with dpkg-buildpackage:
# the package then holds exactly what `cmake --install --prefix /usr` installs (one set of
# install rules, compared file by file in deploy.debian-package), the build needs no
# debhelper, and what debhelper would add is done here: Depends from dpkg-shlibdeps,
# md5sums, compressed manual pages and changelog (packaging/CMakeLists.txt), conffiles,
# maintainer scripts as dh_installsystemd writes them, lintian overrides with reasons.
set(CPACK_PACKAGE_NAME etmem)
set(CPACK_PACKAGE_VENDOR "openEuler")
set(CPACK_PACKAGE_CONTACT "etmem developers <dev@openeuler.org>")
set(CPACK_PACKAGE_VERSION ${ETMEM_VERSION})
# The Debian revision; a newer build of the same tree: cpack -D CPACK_DEBIAN_PACKAGE_RELEASE=2.
set(CPACK_DEBIAN_PACKAGE_RELEASE ${ETMEM_DEB_REVISION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "memory tiering service: moves cold pages out of DRAM")
# Debian's extended description: lines of at most 79 characters after the leading space
# (lintian: extended-description-line-too-long).
set(CPACK_PACKAGE_DESCRIPTION
    "etmemd watches chosen processes, tells their hot pages from their cold ones\n\
by the page-table accessed bits over several scans, and swaps the cold pages\n\
out to zram or fast storage, so the same DRAM carries more work. Projects are\n\
managed with the etmem command, busctl or systemctl over D-Bus\n\
(org.openeuler.Etmem); every change is authorized by polkit. The command forms\n\
and config files of openEuler's etmem 1.0 and 1.1 are understood.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://gitee.com/openeuler/etmem")
# Libraries: computed by dpkg-shlibdeps from the binaries (exact names and versions). Listed
# by hand only what no ELF says: the bus the service lives on and polkitd that authorizes
# every change.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# dbus 1.14 (bookworm) reads the send_destination_prefix of the bus policy.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "dbus (>= 1.14), polkitd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/debian/postinst ${CMAKE_CURRENT_LIST_DIR}/debian/prerm
    ${CMAKE_CURRENT_LIST_DIR}/debian/postrm ${CMAKE_CURRENT_LIST_DIR}/debian/conffiles)
# Maintainer scripts must be 0755 and the rest 0644, as lintian expects.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

include(CPack)
