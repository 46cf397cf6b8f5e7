using System.Globalization;

namespace DrICL.Model;

/// <summary>Decoding stopped because the model's logits went NaN or infinite: any token picked from them would be noise.</summary>
public sealed class NonFiniteLogitsException(int position, int token, float value)
    : Exception(string.Create(CultureInfo.InvariantCulture, $"the model's logits are not finite at position {position} ({value} for token {token})"));
