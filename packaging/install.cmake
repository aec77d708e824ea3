# The installed layout (GNUInstallDirs under CMAKE_INSTALL_PREFIX) and the Debian package built
# from it by CPack: cpack -G DEB --config <build>/CPackConfig.cmake.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(DG_UNIT_DIR_DEFAULT /lib/systemd/system) # Debian 12's systemdsystemunitdir
else()
  set(DG_UNIT_DIR_DEFAULT ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
set(DG_SYSTEMD_UNIT_DIR ${DG_UNIT_DIR_DEFAULT} CACHE PATH "Directory of systemd system units")
set(DG_PACKAGE_MAINTAINER "dualguard maintainers <maintainers@dualguard.invalid>" CACHE STRING
  "Maintainer field of the Debian package")
set(DG_SBIN_DIR ${CMAKE_INSTALL_FULL_SBINDIR})
set(DG_CONFIG_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/dualguard)
set(DG_SYSUSERS_DIR ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d)
set(DG_TMPFILES_DIR ${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d)

set(pkg ${CMAKE_BINARY_DIR}/packaging)
foreach(f dualguardd.service dualguard.sysusers dualguard.tmpfiles)
  configure_file(${CMAKE_SOURCE_DIR}/systemd/${f}.in ${pkg}/${f} @ONLY)
endforeach()
foreach(f postinst prerm postrm)
  configure_file(${CMAKE_SOURCE_DIR}/packaging/${f}.in ${pkg}/debian/${f} @ONLY
    FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
file(WRITE ${pkg}/debian/conffiles "${DG_CONFIG_FILE}\n")
foreach(f changelog dualguardd.8)
  execute_process(COMMAND gzip -9nc ${CMAKE_SOURCE_DIR}/packaging/${f} OUTPUT_FILE ${pkg}/${f}.gz)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/packaging/${f})
endforeach()

install(FILES ${pkg}/dualguardd.service DESTINATION ${DG_SYSTEMD_UNIT_DIR})
install(FILES ${pkg}/dualguard.sysusers DESTINATION ${DG_SYSUSERS_DIR} RENAME dualguard.conf)
install(FILES ${pkg}/dualguard.tmpfiles DESTINATION ${DG_TMPFILES_DIR} RENAME dualguard.conf)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/dualguard.yaml DESTINATION ${DG_CONFIG_DIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/dashboards/ DESTINATION ${CMAKE_INSTALL_DATADIR}/dualguard/dashboards)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES ${pkg}/dualguardd.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/config-reference.md
  ${CMAKE_SOURCE_DIR}/packaging/copyright ${pkg}/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dualguard)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES TRUE)
set(CPACK_PACKAGE_CONTACT "${DG_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "dual prevention monitoring and alarm daemon for hazardous-chemical plants")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "dualguard turns field sensors (Modbus, MQTT) into the digital half of the
dual prevention mechanism: control-measure rules raise ISA-18.2 alarms, failed
measures open hazard records in a closed-loop ledger, and the responsible
people are notified through a durable outbox. It keeps its state in SQLite
and serves an HTTP API and a web dashboard.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# systemd-sysusers and systemd-tmpfiles create the user and the directories in postinst.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${pkg}/debian/conffiles ${pkg}/debian/postinst ${pkg}/debian/prerm ${pkg}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
