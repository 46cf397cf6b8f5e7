namespace DrICL.Model.Tokenization;

/// <summary>
/// A tokenizer file that cannot be used: missing, not JSON, missing a field, or of a tokenizer family DrICL does
/// not implement. The message always starts with the file it is about.
/// </summary>
public sealed class TokenizerLoadException(string message, Exception? inner = null) : Exception(message, inner);
