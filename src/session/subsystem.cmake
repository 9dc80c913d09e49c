# The session runtime (src/session): runs OpenJD actions in a private
# session directory.  Needs only libc, jansson and the model layer.
drover_subsystem(session)
