import Foundation
import MarginCLI

exit(run(arguments: Array(CommandLine.arguments.dropFirst())))
