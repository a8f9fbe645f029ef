import LLMSimCLI

LLMSim.main()
