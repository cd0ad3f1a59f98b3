from tokenyard.streams.cli import main

main()
