# bundle.cmake — the portal's PKI library (pkijs + asn1js, for the CSR and the PKCS#12 file the
# browser makes) as one ES module, built from the npm registry's packages at the versions that
# package-lock.json pins. Nothing of npm is committed: the packages are installed in the build
# tree and the bundle is made there, then embedded with the rest of the portal.
#
#   cmake -DSRC=tools/portal-pki -DWORK=<build>/portal-pki -DOUT=<file.js> -DNPM=<npm> -DNODE=<node>
#         -P tools/portal-pki/bundle.cmake
#
# `npm ci` (packages checked against the lock file's hashes, install scripts not run, npm's cache
# in WORK) runs only when WORK has no installation of this very lock file, so a build tree that
# has one builds offline. esbuild (pinned too) bundles entry.js minified, the licences kept at the
# end; the same inputs give the same bytes.
cmake_minimum_required(VERSION 3.18)
foreach(v SRC WORK OUT NPM NODE)
  if(NOT ${v})
    message(FATAL_ERROR "usage: cmake -DSRC=dir -DWORK=dir -DOUT=file.js -DNPM=npm -DNODE=node -P bundle.cmake")
  endif()
endforeach()

file(MAKE_DIRECTORY "${WORK}")
foreach(f package.json package-lock.json entry.js)
  configure_file("${SRC}/${f}" "${WORK}/${f}" COPYONLY)
endforeach()

# the installation is current when it was made from the same lock file
set(stamp "${WORK}/node_modules/.certflow-installed-lock")
set(current "")
if(EXISTS "${stamp}" AND EXISTS "${WORK}/node_modules/esbuild/bin/esbuild")
  file(READ "${stamp}" installed)
  file(READ "${WORK}/package-lock.json" lock)
  if(installed STREQUAL lock)
    set(current 1)
  endif()
endif()
if(NOT current)
  message(STATUS "portal-pki: npm ci (pkijs, asn1js, esbuild at the versions of package-lock.json)")
  execute_process(COMMAND "${NPM}" ci --ignore-scripts --no-audit --no-fund --loglevel=error
                          --cache "${WORK}/npm-cache" --prefer-offline
                  WORKING_DIRECTORY "${WORK}" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "portal-pki: npm ci failed (${rc}); the npm registry must be reachable "
                        "once per build tree (tools/deps.sh installs nodejs and npm):\n${err}")
  endif()
  configure_file("${WORK}/package-lock.json" "${stamp}" COPYONLY)
endif()

get_filename_component(outdir "${OUT}" DIRECTORY)
file(MAKE_DIRECTORY "${outdir}")
execute_process(COMMAND "${NODE}" node_modules/esbuild/bin/esbuild entry.js --bundle --format=esm
                        --target=es2020 --minify --legal-comments=eof --log-level=warning
                        "--outfile=${OUT}.tmp"
                WORKING_DIRECTORY "${WORK}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "portal-pki: esbuild failed (${rc})")
endif()
file(RENAME "${OUT}.tmp" "${OUT}")
