import Foundation
import MarginCLI

// A peer that hangs up must end a session with an error, not kill the process.
signal(SIGPIPE, SIG_IGN)
exit(run(arguments: Array(CommandLine.arguments.dropFirst())))
